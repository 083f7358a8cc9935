//! Reading a store file that needs repair without changing it.
//!
//! redb marks a file as needing repair until the process that had it open for writing closes
//! it cleanly; after a crash (or a process that exited without dropping its database), only a
//! writable open, which repairs the file in place, can read it. Start-up and the master-key
//! rotation must refuse a wrong key *without changing a byte* of the data directory, so for
//! them [`OverlayBackend`] lets redb repair a copy-on-write view of the file: reads come from
//! the file, writes go to pages kept in memory and are dropped with the backend. The file is
//! opened read-only.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

const PAGE: u64 = 4096;

/// A read-only file with an in-memory layer of written pages.
#[derive(Debug)]
pub(crate) struct OverlayBackend {
    file: File,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The length redb sees.
    len: u64,
    /// Bytes of the file below this offset are still valid (a shrink, then a growth, must read
    /// zeros where the file had data).
    file_valid: u64,
    /// Written pages, by index.
    pages: HashMap<u64, Box<[u8]>>,
}

fn poisoned() -> std::io::Error {
    std::io::Error::other("overlay lock poisoned")
}

impl OverlayBackend {
    /// Opens `path` for reading.
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Self {
            file,
            state: Mutex::new(State {
                len,
                file_valid: len,
                pages: HashMap::new(),
            }),
        })
    }

    /// The current content of page `index` (from the file, zero-filled past its valid end).
    fn load(&self, state: &State, index: u64) -> std::io::Result<Box<[u8]>> {
        let mut page = vec![0u8; PAGE as usize].into_boxed_slice();
        let start = index * PAGE;
        if start < state.file_valid {
            let n = usize::try_from((state.file_valid - start).min(PAGE)).unwrap_or(0);
            self.file.read_exact_at(&mut page[..n], start)?;
        }
        Ok(page)
    }
}

impl redb::StorageBackend for OverlayBackend {
    fn len(&self) -> std::io::Result<u64> {
        Ok(self.state.lock().map_err(|_| poisoned())?.len)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        let state = self.state.lock().map_err(|_| poisoned())?;
        if offset + out.len() as u64 > state.len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "read past the end",
            ));
        }
        let mut done = 0usize;
        while done < out.len() {
            let at = offset + done as u64;
            let (index, within) = (at / PAGE, (at % PAGE) as usize);
            let n = (PAGE as usize - within).min(out.len() - done);
            match state.pages.get(&index) {
                Some(page) => out[done..done + n].copy_from_slice(&page[within..within + n]),
                None => {
                    let page = self.load(&state, index)?;
                    out[done..done + n].copy_from_slice(&page[within..within + n]);
                }
            }
            done += n;
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        if len < state.len {
            state.file_valid = state.file_valid.min(len);
            let keep = len.div_ceil(PAGE);
            state.pages.retain(|index, _| *index < keep);
            // The part of the last page past the new end must read as zeros if it grows again.
            if !len.is_multiple_of(PAGE)
                && let Some(page) = state.pages.get_mut(&(len / PAGE))
            {
                page[(len % PAGE) as usize..].fill(0);
            }
        }
        state.len = len;
        Ok(())
    }

    fn sync_data(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        let mut done = 0usize;
        while done < data.len() {
            let at = offset + done as u64;
            let (index, within) = (at / PAGE, (at % PAGE) as usize);
            let n = (PAGE as usize - within).min(data.len() - done);
            if !state.pages.contains_key(&index) {
                let page = self.load(&state, index)?;
                state.pages.insert(index, page);
            }
            if let Some(page) = state.pages.get_mut(&index) {
                page[within..within + n].copy_from_slice(&data[done..done + n]);
            }
            done += n;
        }
        let end = offset + data.len() as u64;
        if end > state.len {
            state.len = end;
        }
        Ok(())
    }
}
