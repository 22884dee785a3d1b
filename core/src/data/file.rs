//! A data set read from its files as it is replayed: [`DataFile`] checks
//! the data and index files once, in one streaming pass, and keeps only
//! where each cascade starts in the data file; a cascade's rows are read
//! when its replay starts. The generator's memory is then that of the
//! cascades in flight, not of the file (bench-kafka, 4.76 M tweets: 117 MiB
//! with the whole set in memory).

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::rows::{number, stream_rows, two_fields};
use super::{Cascades, DataError, check_order, read_index};

/// Bytes of the data file read at a time by the checking pass.
const CHUNK: usize = 1 << 20;

/// NEWS-format files, checked, with each cascade's rows read on demand.
#[derive(Debug)]
pub struct DataFile {
    path: PathBuf,
    file: File,
    /// Byte offset in the data file of each cascade's first row.
    offsets: Vec<u64>,
    /// Rows of each cascade.
    sizes: Vec<usize>,
}

impl DataFile {
    /// Checks the files as [`super::Dataset::load`] does (the same errors,
    /// at the same lines, in the same order) without holding the data in
    /// memory.
    pub fn open(data: &Path, index: &Path) -> Result<DataFile, DataError> {
        Self::open_in_chunks(data, index, CHUNK)
    }

    /// [`DataFile::open`], reading the data file `chunk` bytes at a time.
    pub(super) fn open_in_chunks(
        data: &Path,
        index: &Path,
        chunk: usize,
    ) -> Result<DataFile, DataError> {
        // The index read first only to follow the cascades down the data
        // file; it is read again below, with the data's row count, so that
        // its errors come after the data's and read as `Dataset::load`'s.
        let early = read_index(index, usize::MAX).unwrap_or_default();
        let mut by_start: Vec<usize> = (0..early.len()).collect();
        by_start.sort_unstable_by_key(|&i| early[i].start);
        let mut offsets = vec![0u64; early.len()];
        let (mut row, mut next, mut current) = (0usize, 0usize, None::<usize>);
        let mut last_t = 0.0;
        // The first unsorted time of the lowest cascade id that has one.
        let mut unsorted: Option<(usize, u64, String)> = None;
        stream_rows(data, "time,magnitude", chunk, |text, at| {
            let (t, m) = two_fields(text, "time,magnitude")?;
            let t = number("time", t)?;
            number("magnitude", m)?;
            if current.is_some_and(|i| row >= early[i].end) {
                current = None;
            }
            if let Some(&i) = by_start.get(next)
                && early[i].start == row
            {
                offsets[i] = at;
                current = Some(i);
                next += 1;
            } else if let Some(i) = current
                && t < last_t
                && unsorted.as_ref().is_none_or(|(j, _, _)| i < *j)
            {
                let what = format!(
                    "time {t} is earlier than the previous tweet's {last_t} in cascade {i}"
                );
                // Data row r (0-based) is on line r + 2: header, 1-based.
                unsorted = Some((i, (row + 2) as u64, what));
            }
            last_t = t;
            row += 1;
            Ok(())
        })?;
        let cascades = read_index(index, row)?;
        check_order(data, index, &cascades)?;
        if let Some((_, line, what)) = unsorted {
            return Err(DataError::Line {
                path: data.to_owned(),
                line,
                what,
            });
        }
        Ok(DataFile {
            path: data.to_owned(),
            file: File::open(data).map_err(|source| DataError::Io {
                path: data.to_owned(),
                source,
            })?,
            offsets,
            sizes: cascades.iter().map(|r| r.len()).collect(),
        })
    }
}

impl Cascades for DataFile {
    fn len(&self) -> usize {
        self.sizes.len()
    }

    fn size(&self, i: usize) -> usize {
        self.sizes[i]
    }

    fn read(&self, i: usize, times: &mut Vec<f64>, marks: &mut Vec<f64>) -> Result<(), DataError> {
        let fail = |what: String| DataError::Io {
            path: self.path.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("cascade {i} changed since the file was checked: {what}"),
            ),
        };
        let io = |source| DataError::Io {
            path: self.path.clone(),
            source,
        };
        let mut reader = BufReader::with_capacity(16 << 10, &self.file);
        reader.seek(SeekFrom::Start(self.offsets[i])).map_err(io)?;
        let mut line = Vec::new();
        for _ in 0..self.sizes[i] {
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(io)? == 0 {
                return Err(fail("the file ends early".into()));
            }
            let (t, m) = two_fields(line.trim_ascii(), "time,magnitude").map_err(fail)?;
            times.push(number("time", t).map_err(fail)?);
            marks.push(number("magnitude", m).map_err(fail)?);
        }
        Ok(())
    }
}
