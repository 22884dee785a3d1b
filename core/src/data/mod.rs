//! NEWS-format data and index files (SPEC §3), read and written.
//!
//! The data file is a header then `time,magnitude[,msg]` rows; the index file
//! is a header then `start_ind,end_ind` rows of 1-based inclusive data-row
//! numbers (header excluded), one row per cascade. A cascade's id is its
//! 0-based row in the index, so the index order is kept as given.
//!
//! Loading reads the data file whole and parses it in one piece per core
//! (see `rows`), each piece's vectors sized by its count of line ends: the
//! peak memory is the text and the vectors (3.28 M rows: a 67 MB file and
//! 52 MB of vectors).
//!
//! Times within a cascade must already be non-decreasing: a file that is not
//! sorted is corrupt or of another format, and sorting it silently would
//! change which tweet is the cascade's origin. The real data is sorted.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::Path;

use rows::{number, two_fields};

pub use error::DataError;
pub use file::DataFile;

mod error;
mod file;
mod rows;

/// Cascades a replay can read one at a time: held in memory
/// ([`Dataset`]) or read from the data file as each starts ([`DataFile`]).
pub trait Cascades: std::fmt::Debug + Send + Sync {
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of tweets of cascade `i`.
    fn size(&self, i: usize) -> usize;

    /// Appends the times and magnitudes of cascade `i`.
    fn read(&self, i: usize, times: &mut Vec<f64>, marks: &mut Vec<f64>) -> Result<(), DataError>;
}

impl Cascades for Dataset {
    fn len(&self) -> usize {
        self.cascades.len()
    }

    fn size(&self, i: usize) -> usize {
        self.cascades[i].len()
    }

    fn read(&self, i: usize, times: &mut Vec<f64>, marks: &mut Vec<f64>) -> Result<(), DataError> {
        let (t, m) = self.cascade(i);
        times.extend_from_slice(t);
        marks.extend_from_slice(m);
        Ok(())
    }
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

fn read_data(path: &Path) -> Result<(Vec<f64>, Vec<f64>), DataError> {
    let pieces = rows::read_rows(
        path,
        "time,magnitude",
        None,
        |rows| (Vec::with_capacity(rows), Vec::with_capacity(rows)),
        |(times, marks): &mut (Vec<f64>, Vec<f64>), text| {
            let (t, m) = two_fields(text, "time,magnitude")?;
            times.push(number("time", t)?);
            marks.push(number("magnitude", m)?);
            Ok(())
        },
    )?;
    // The first piece's vectors grow to take the others: a large
    // allocation grows in place (mremap), so the rows are not held twice.
    let rest: usize = pieces.iter().skip(1).map(|(t, _)| t.len()).sum();
    let mut pieces = pieces.into_iter();
    let (mut times, mut marks) = pieces.next().unwrap_or_default();
    times.reserve_exact(rest);
    marks.reserve_exact(rest);
    for (t, m) in pieces {
        times.extend(t);
        marks.extend(m);
    }
    Ok((times, marks))
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
    let pieces = rows::read_rows(
        path,
        "start_ind,end_ind",
        Some(1),
        Vec::with_capacity,
        |cascades: &mut Vec<Range<usize>>, text| {
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
        },
    )?;
    Ok(pieces.into_iter().flatten().collect())
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
mod tests;
