//! NEWS-format data and index files (SPEC §3), read and written.
//!
//! The data file is a header then `time,magnitude[,msg]` rows; the index file
//! is a header then `start_ind,end_ind` rows of 1-based inclusive data-row
//! numbers (header excluded), one row per cascade. A cascade's id is its
//! 0-based row in the index, so the index order is kept as given.
//!
//! Loading streams the data file twice through a `BufReader`: a byte count of
//! the newlines sizes the vectors exactly, then the rows are parsed into
//! them. The text is never held whole, so the peak memory is the two vectors
//! (3.25 M rows: 52 MB).
//!
//! Times within a cascade must already be non-decreasing: a file that is not
//! sorted is corrupt or of another format, and sorting it silently would
//! change which tweet is the cascade's origin. The real data is sorted.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Why a data or index file cannot be read or written. The Display names
/// the file, the 1-based line number in that file when there is one, and
/// what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} line {line}: {what}", path.display())]
    Line {
        path: PathBuf,
        line: u64,
        what: String,
    },
}

/// Cascades held column-wise: cascade `i` is rows `cascades[i]` of `times`
/// and `marks`. Rows no cascade covers may exist (an index may skip rows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// Seconds since the cascade's first tweet.
    pub times: Vec<f64>,
    /// Magnitudes (follower counts).
    pub marks: Vec<f64>,
    pub cascades: Vec<Range<usize>>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.cascades.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cascades.is_empty()
    }

    /// Times and magnitudes of cascade `i`.
    pub fn cascade(&self, i: usize) -> (&[f64], &[f64]) {
        let r = self.cascades[i].clone();
        (&self.times[r.clone()], &self.marks[r])
    }

    /// Number of tweets of cascade `i`.
    pub fn size(&self, i: usize) -> usize {
        self.cascades[i].len()
    }

    /// Number of tweets over all cascades (what a replay emits; rows outside
    /// every cascade are not counted).
    pub fn n_tweets(&self) -> usize {
        self.cascades.iter().map(|r| r.len()).sum()
    }

    /// Builds a dataset from cascades given as `(time, magnitude)` lists;
    /// cascade ids follow the iteration order.
    pub fn from_cascades<I, C>(cascades: I) -> Dataset
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[(f64, f64)]>,
    {
        let mut d = Dataset::default();
        for c in cascades {
            let start = d.times.len();
            for &(t, m) in c.as_ref() {
                d.times.push(t);
                d.marks.push(m);
            }
            d.cascades.push(start..d.times.len());
        }
        d
    }

    /// Reads a data file and its index (see the module doc for the format
    /// and what is checked). Accepts CRLF, a UTF-8 BOM, trailing blank
    /// lines, an ignored third column, magnitudes like `1.23457e+06`, index
    /// numbers like `1e+05` (as R writes them), index rows in any order and
    /// rows no cascade covers. Overlapping cascades are refused: they would
    /// replay the same tweets twice.
    pub fn load(data: &Path, index: &Path) -> Result<Dataset, DataError> {
        let (times, marks) = read_data(data)?;
        let cascades = read_index(index, times.len())?;
        check_order(data, index, &cascades)?;
        for (i, r) in cascades.iter().enumerate() {
            let ts = &times[r.clone()];
            if let Some(k) = (1..ts.len()).find(|&k| ts[k] < ts[k - 1]) {
                return Err(DataError::Line {
                    path: data.to_owned(),
                    // Data row r (0-based) is on line r + 2: header, 1-based.
                    line: (r.start + k + 2) as u64,
                    what: format!(
                        "time {} is earlier than the previous tweet's {} in cascade {i}",
                        ts[k],
                        ts[k - 1]
                    ),
                });
            }
        }
        Ok(Dataset {
            times,
            marks,
            cascades,
        })
    }

    /// Writes the cascades in id order, rows contiguous, so that `load`
    /// gives back the same cascades. Numbers are written in their shortest
    /// exact form (integers without `.0`).
    pub fn write(&self, data: &Path, index: &Path) -> Result<(), DataError> {
        write_file(data, |w| {
            w.write_all(b"time,magnitude\n")?;
            for r in &self.cascades {
                for k in r.clone() {
                    writeln!(w, "{},{}", self.times[k], self.marks[k])?;
                }
            }
            Ok(())
        })?;
        write_file(index, |w| {
            w.write_all(b"start_ind,end_ind\n")?;
            let mut next = 1;
            for r in &self.cascades {
                writeln!(w, "{},{}", next, next + r.len() - 1)?;
                next += r.len();
            }
            Ok(())
        })
    }
}

fn write_file(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), DataError> {
    let io = |source| DataError::Io {
        path: path.to_owned(),
        source,
    };
    let mut w = BufWriter::with_capacity(1 << 16, File::create(path).map_err(io)?);
    body(&mut w).map_err(io)?;
    w.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)
}

/// Reads `path` line by line: checks that the first line is the header
/// (`names`, not numbers), then gives each following line (without its end
/// of line) and its 1-based number to `row`. Trailing blank lines are
/// skipped; a blank line followed by more rows is an error, since it would
/// shift the row numbers an index refers to.
fn for_each_row(
    path: &Path,
    names: &str,
    mut row: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), DataError> {
    let io = |source| DataError::Io {
        path: path.to_owned(),
        source,
    };
    let fail = |line, what| DataError::Line {
        path: path.to_owned(),
        line,
        what,
    };
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path).map_err(io)?);
    let mut buf = Vec::with_capacity(256);
    let (mut line, mut blank) = (0u64, None);
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
            break;
        }
        line += 1;
        let mut text = buf.as_slice();
        if line == 1 {
            text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        }
        let text = text.trim_ascii_end();
        if text.trim_ascii().is_empty() {
            blank.get_or_insert(line);
            continue;
        }
        if let Some(b) = blank {
            return Err(fail(b, "blank line before more rows".into()));
        }
        if line == 1 {
            let (a, b) = two_fields(text, names).map_err(|what| fail(line, what))?;
            if a.parse::<f64>().is_ok() && b.parse::<f64>().is_ok() {
                let what = format!("expected a header (`{names}`), found a row");
                return Err(fail(line, what));
            }
            continue;
        }
        row(text).map_err(|what| fail(line, what))?;
    }
    if line == 0 || blank == Some(1) {
        return Err(fail(1, format!("no header (`{names}`): the file is empty")));
    }
    Ok(())
}

/// The first two comma-separated fields of a line, trimmed of blanks and
/// quotes; any further field is ignored.
fn two_fields<'a>(text: &'a [u8], names: &str) -> Result<(&'a str, &'a str), String> {
    let mut it = text.splitn(3, |&b| b == b',');
    let (Some(a), Some(b)) = (it.next(), it.next()) else {
        return Err(format!("expected `{names}`, found `{}`", show(text)));
    };
    let clean = |f: &'a [u8]| {
        let f = f.trim_ascii();
        let f = f
            .strip_prefix(b"\"")
            .and_then(|g| g.strip_suffix(b"\""))
            .unwrap_or(f);
        std::str::from_utf8(f).map_err(|_| format!("`{}` is not UTF-8 text", show(f)))
    };
    Ok((clean(a)?, clean(b)?))
}

/// At most 40 characters of a line, for error messages.
fn show(text: &[u8]) -> String {
    let s = String::from_utf8_lossy(text);
    match s.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.into_owned(),
    }
}

fn number(name: &str, field: &str) -> Result<f64, String> {
    let v: f64 = field
        .parse()
        .map_err(|_| format!("{name} `{field}` is not a number"))?;
    if !v.is_finite() {
        return Err(format!("{name} `{field}` is not finite"));
    }
    if v < 0.0 {
        return Err(format!("{name} `{field}` is negative"));
    }
    Ok(v)
}

fn read_data(path: &Path) -> Result<(Vec<f64>, Vec<f64>), DataError> {
    let rows = count_lines(path)?;
    let (mut times, mut marks) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    for_each_row(path, "time,magnitude", |text| {
        let (t, m) = two_fields(text, "time,magnitude")?;
        times.push(number("time", t)?);
        marks.push(number("magnitude", m)?);
        Ok(())
    })?;
    Ok((times, marks))
}

/// Counts newlines (plus one for an unterminated last line): an upper bound
/// on the rows, to size the vectors once.
fn count_lines(path: &Path) -> Result<usize, DataError> {
    let io = |source| DataError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut buf = vec![0u8; 1 << 16];
    let (mut lines, mut last) = (0, b'\n');
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Ok(lines + usize::from(last != b'\n'));
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
        last = buf[n - 1];
    }
}

/// An index number: a positive integer, possibly written as `1e+05`.
fn row_number(name: &str, field: &str) -> Result<usize, String> {
    if let Ok(v) = field.parse::<usize>() {
        return Ok(v);
    }
    match field.parse::<f64>() {
        Ok(v) if v.fract() == 0.0 && (0.0..9.0e15).contains(&v) => Ok(v as usize),
        _ => Err(format!("{name} `{field}` is not a row number")),
    }
}

fn read_index(path: &Path, n_rows: usize) -> Result<Vec<Range<usize>>, DataError> {
    let mut cascades = Vec::new();
    for_each_row(path, "start_ind,end_ind", |text| {
        let (a, b) = two_fields(text, "start_ind,end_ind")?;
        let (start, end) = (row_number("start_ind", a)?, row_number("end_ind", b)?);
        if start == 0 {
            return Err("start_ind is 0: rows are numbered from 1".into());
        }
        if start > end {
            return Err(format!("start_ind {start} is after end_ind {end}"));
        }
        if end > n_rows {
            return Err(format!(
                "end_ind {end} is past the last data row ({n_rows})"
            ));
        }
        cascades.push(start - 1..end);
        Ok(())
    })?;
    Ok(cascades)
}

/// Refuses cascades that share rows. Index rows may come in any order.
fn check_order(data: &Path, index: &Path, cascades: &[Range<usize>]) -> Result<(), DataError> {
    let mut by_start: Vec<usize> = (0..cascades.len()).collect();
    by_start.sort_unstable_by_key(|&i| cascades[i].start);
    for w in by_start.windows(2) {
        let (a, b) = (&cascades[w[0]], &cascades[w[1]]);
        if b.start < a.end {
            return Err(DataError::Line {
                path: index.to_owned(),
                // Cascade i is on index line i + 2.
                line: (w[1].max(w[0]) + 2) as u64,
                what: format!(
                    "cascades {} and {} share rows of {} ({}-{} and {}-{})",
                    w[0].min(w[1]),
                    w[0].max(w[1]),
                    data.display(),
                    a.start + 1,
                    a.end,
                    b.start + 1,
                    b.end
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    /// Writes `data` and `index` into a fresh directory, returns their paths.
    fn files(name: &str, data: &str, index: &str) -> (PathBuf, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("tweetoscope-data-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (d, i) = (dir.join("news-data.csv"), dir.join("news-index.csv"));
        std::fs::write(&d, data).unwrap();
        std::fs::write(&i, index).unwrap();
        (d, i)
    }

    fn load(name: &str, data: &str, index: &str) -> Result<Dataset, DataError> {
        let (d, i) = files(name, data, index);
        Dataset::load(&d, &i)
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
        let data =
            "\u{feff}time,magnitude,msg\r\n0,1.23457e+06,hello, world\r\n2.5,\"12\",\r\n\r\n\n";
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
}
