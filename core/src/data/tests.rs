//! The data and index readers: what they accept, what they refuse and
//! how they word it.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::PathBuf;

use super::*;

/// Writes `data` and `index` into a fresh directory, returns their paths.
fn files(name: &str, data: &str, index: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("tweetoscope-data-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (d, i) = (dir.join("news-data.csv"), dir.join("news-index.csv"));
    std::fs::write(&d, data).unwrap();
    std::fs::write(&i, index).unwrap();
    (d, i)
}

/// Loads the files whole, and checks that [`DataFile`], reading them in
/// chunks of 1 byte to 1 MiB, accepts the same files with the same rows
/// and refuses the others with the same error.
fn load(name: &str, data: &str, index: &str) -> Result<Dataset, DataError> {
    let (d, i) = files(name, data, index);
    let whole = Dataset::load(&d, &i);
    for chunk in [1, 2, 7, 64, 1 << 20] {
        let streamed = DataFile::open_in_chunks(&d, &i, chunk);
        match (&whole, streamed) {
            (Ok(set), Ok(file)) => {
                assert_eq!(Cascades::len(&file), set.len(), "{name}, chunk {chunk}");
                for c in 0..set.len() {
                    let (mut t, mut m) = (Vec::new(), Vec::new());
                    file.read(c, &mut t, &mut m).unwrap();
                    assert_eq!((&t[..], &m[..]), set.cascade(c), "{name}, cascade {c}");
                    assert_eq!(file.size(c), set.size(c));
                }
            }
            (Err(e), Err(f)) => {
                assert_eq!(e.to_string(), f.to_string(), "{name}, chunk {chunk}")
            }
            (w, s) => panic!("{name}, chunk {chunk}: whole {w:?}, streamed {s:?}"),
        }
    }
    whole
}

fn error(name: &str, data: &str, index: &str) -> String {
    load(name, data, index).unwrap_err().to_string()
}

#[test]
fn plain_files_load_into_cascades() {
    let d = load(
        "plain",
        "time,magnitude\n0,10\n5,3\n0,7\n",
        "start_ind,end_ind\n1,2\n3,3\n",
    )
    .unwrap();
    assert_eq!((d.len(), d.n_tweets(), d.size(0), d.size(1)), (2, 3, 2, 1));
    assert_eq!(d.cascade(0), (&[0.0, 5.0][..], &[10.0, 3.0][..]));
    assert_eq!(d.cascade(1), (&[0.0][..], &[7.0][..]));
}

#[test]
fn crlf_bom_third_column_exponents_and_trailing_blank_lines_are_accepted() {
    let data = "\u{feff}time,magnitude,msg\r\n0,1.23457e+06,hello, world\r\n2.5,\"12\",\r\n\r\n\n";
    let d = load("quirks", data, "start_ind,end_ind\r\n1,2\r\n\r\n").unwrap();
    assert_eq!(d.cascade(0), (&[0.0, 2.5][..], &[1_234_570.0, 12.0][..]));
}

#[test]
fn index_rows_in_any_order_with_gaps_and_r_style_numbers_are_accepted() {
    let data = "time,magnitude\n0,1\n0,2\n1,3\n0,4\n";
    let d = load("order", data, "start_ind,end_ind\n4,4\n2,3e+00\n").unwrap();
    assert_eq!(d.cascades, vec![3..4, 1..3]);
    assert_eq!(d.n_tweets(), 3);
}

#[test]
fn a_malformed_row_reports_file_line_and_reason() {
    let mut data = String::from("time,magnitude\n");
    for k in 0..15 {
        data.push_str(&format!("{k},1\n"));
    }
    data.push_str("15,abc\n");
    let e = error("malformed", &data, "start_ind,end_ind\n1,16\n");
    assert!(
        e.ends_with("news-data.csv line 17: magnitude `abc` is not a number"),
        "{e}"
    );
}

#[test]
fn bad_values_are_refused_with_their_reason() {
    let idx = "start_ind,end_ind\n1,2\n";
    let cases = [
        (
            "time,magnitude\n0,1\n1,-2\n",
            "line 3: magnitude `-2` is negative",
        ),
        (
            "time,magnitude\n0,1\nNaN,2\n",
            "line 3: time `NaN` is not finite",
        ),
        (
            "time,magnitude\n0,1\n7\n",
            "line 3: expected `time,magnitude`, found `7`",
        ),
        (
            "time,magnitude\n0,1\n\n1,2\n",
            "line 3: blank line before more rows",
        ),
        (
            "0,1\n1,2\n",
            "line 1: expected a header (`time,magnitude`), found a row",
        ),
        (
            "",
            "line 1: no header (`time,magnitude`): the file is empty",
        ),
        (
            "time,magnitude\n0,1\n5,1\n3,1\n",
            "line 4: time 3 is earlier",
        ),
    ];
    for (k, (data, want)) in cases.into_iter().enumerate() {
        let idx = if k == 6 {
            "start_ind,end_ind\n1,3\n"
        } else {
            idx
        };
        let e = error(&format!("bad{k}"), data, idx);
        assert!(e.contains(want), "{e:?} lacks {want:?}");
    }
}

#[test]
fn index_errors_name_the_index_line() {
    let data = "time,magnitude\n0,1\n1,1\n2,1\n";
    let cases = [
        (
            "start_ind,end_ind\n1,3\n3,4\n",
            "news-index.csv line 3: end_ind 4 is past the last data row (3)",
        ),
        (
            "start_ind,end_ind\n2,1\n",
            "news-index.csv line 2: start_ind 2 is after end_ind 1",
        ),
        (
            "start_ind,end_ind\n0,1\n",
            "news-index.csv line 2: start_ind is 0",
        ),
        (
            "start_ind,end_ind\n1,x\n",
            "news-index.csv line 2: end_ind `x` is not a row number",
        ),
        (
            "start_ind,end_ind\n2,3\n1,2\n",
            "news-index.csv line 3: cascades 0 and 1 share rows",
        ),
    ];
    for (k, (idx, want)) in cases.into_iter().enumerate() {
        let e = error(&format!("idx{k}"), data, idx);
        assert!(e.contains(want), "{e:?} lacks {want:?}");
    }
}

#[test]
fn a_missing_file_names_its_path() {
    let (d, _) = files("missing", "time,magnitude\n", "start_ind,end_ind\n");
    let e = Dataset::load(&d, &d.with_file_name("nope.csv")).unwrap_err();
    assert!(e.to_string().contains("nope.csv"), "{e}");
}

#[test]
fn write_then_load_gives_back_the_cascades_in_compact_numbers() {
    let d = Dataset::from_cascades([
        vec![(0.0, 1_234_567.0), (1.5, 3.0), (1.5, 0.0)],
        vec![(0.0, 2.0)],
        vec![(0.0, 1e-3), (86_400.25, 1e21)],
    ]);
    let (data, index) = files("roundtrip", "", "");
    d.write(&data, &index).unwrap();
    let text = std::fs::read_to_string(&data).unwrap();
    assert!(
        text.starts_with("time,magnitude\n0,1234567\n1.5,3\n"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&index).unwrap(),
        "start_ind,end_ind\n1,3\n4,4\n5,6\n"
    );
    assert_eq!(Dataset::load(&data, &index).unwrap(), d);
}

/// Reads `text` as a data file cut into `parts` pieces: the rows, or the
/// error as worded.
fn rows_in_parts(name: &str, text: &str, parts: usize) -> Result<Vec<(f64, f64)>, String> {
    let (d, _) = files(name, text, "start_ind,end_ind\n");
    let pieces = super::rows::read_rows(
        &d,
        "time,magnitude",
        Some(parts),
        Vec::with_capacity,
        |rows: &mut Vec<(f64, f64)>, line| {
            let (t, m) = super::two_fields(line, "time,magnitude")?;
            rows.push((super::number("time", t)?, super::number("magnitude", m)?));
            Ok(())
        },
    );
    let name = d.display().to_string();
    pieces
        .map(|p| p.into_iter().flatten().collect())
        .map_err(|e| e.to_string().replace(&name, "FILE"))
}

#[test]
fn a_file_cut_into_pieces_reads_as_one_piece_rows_and_errors_alike() {
    let cases = [
        "time,magnitude\n0,1\n1,2\n2,3\n3,4\n4,5\n5,6\n6,7\n",
        "\u{feff}time,magnitude\r\n0,1\r\n1,2\r\n2,3\r\n3,4\r\n4,5",
        "time,magnitude\n0,1\n1,2\n2,3\n\n\n\n",
        "time,magnitude\n0,1\n1,2\n\n2,3\n3,4\n4,5\n5,6\n",
        "time,magnitude\n0,1\n1,2\n2,3\n3,4\n\n\n\n\n5,6\n",
        "time,magnitude\n0,1\n1,2\n2,3\n3,4\n4,x\n5,6\n",
        "time,magnitude\n0,1\n\n1,2\n2,3\n3,4\n4,x\n",
        "time,magnitude\n",
        "\n\n\n",
        "0,1\n1,2\n",
    ];
    for (k, text) in cases.iter().enumerate() {
        let whole = rows_in_parts(&format!("pieces-{k}"), text, 1);
        for parts in 2..=7 {
            assert_eq!(
                rows_in_parts(&format!("pieces-{k}-{parts}"), text, parts),
                whole,
                "case {k} in {parts} pieces"
            );
        }
    }
    // What the one-piece reading says, for the cases that matter here.
    assert_eq!(rows_in_parts("p-a", cases[2], 1).unwrap().len(), 3);
    assert_eq!(
        rows_in_parts("p-b", cases[4], 1).unwrap_err(),
        "FILE line 6: blank line before more rows"
    );
    assert_eq!(
        rows_in_parts("p-c", cases[5], 1).unwrap_err(),
        "FILE line 6: magnitude `x` is not a number"
    );
}
