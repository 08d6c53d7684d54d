//! Files v6probe reads as configuration or writes as output, often as root, in directories
//! others may write to.
//!
//! Reading ([`read_regular`]): a regular file only (a FIFO would block, `/dev/zero` never ends),
//! opened without blocking, bounded in size, with a missing file told apart from a symbolic link
//! to a missing file.
//!
//! Writing ([`write_atomic`]): a new temporary file in the target's directory, with a random
//! name and `O_CREAT|O_EXCL` (a symbolic link or file planted under any name is never followed
//! or reused), the mode asked for (0600 for state), fsync, then a rename over the target (which
//! replaces a symbolic link there rather than writing through it), then fsync of the directory.
//! A crash leaves the old file or the new one, never a torn one; a failure removes the
//! temporary file.
use std::{
    fs::{File, OpenOptions, Permissions},
    io::{self, Read, Write},
    os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

/// A failed step of [`write_atomic`]: what was done, on which file, and the cause (in the
/// message, not as a `source()`, so an error chain shows it once).
#[derive(Debug, thiserror::Error)]
#[error("{op} {path}: {error}")]
pub struct WriteError {
    pub op: &'static str,
    pub path: PathBuf,
    pub error: io::Error,
}

/// Reads all of the regular file `path`, at most `max` bytes: `Ok(None)` when nothing is there.
/// A FIFO, device, socket or directory, a symbolic link to a missing file, and a file longer
/// than `max` are errors that say so.
pub fn read_regular(path: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return match std::fs::symlink_metadata(path) {
                Ok(m) if m.file_type().is_symlink() => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "a symbolic link to a file that does not exist",
                )),
                _ => Ok(None),
            };
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    let ft = meta.file_type();
    if !ft.is_file() {
        let what = if ft.is_dir() {
            "a directory"
        } else if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_char_device() {
            "a character device"
        } else if ft.is_block_device() {
            "a block device"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "not a file"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what}, not a regular file"),
        ));
    }
    let too_long = |n: u64| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{n} bytes or more, longer than the {max} bytes read"),
        )
    };
    if meta.len() > max {
        return Err(too_long(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow while it is read: read one byte past the bound to notice.
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_long(bytes.len() as u64));
    }
    Ok(Some(bytes))
}

/// Replaces `path` with `bytes` atomically; see the module documentation. `mode` is the new
/// file's permission bits (less the umask).
pub fn write_atomic(path: &Path, mode: u32, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, mode, |w| w.write_all(bytes))
}

/// [`write_atomic`] with the contents written by `write`, through a 64 KiB buffer: a large
/// file (a state of many thousand bindings) is streamed, never held whole in memory.
pub fn write_atomic_with(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), WriteError> {
    let err = |op: &'static str, p: &Path| {
        let path = p.to_path_buf();
        move |error| WriteError { op, path, error }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "v6probe".into());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(&dir)
        .map_err(err("creating a temporary file in", &dir))?;
    let tmp_path = tmp.path().to_path_buf();
    {
        let mut w = io::BufWriter::with_capacity(64 * 1024, tmp.as_file_mut());
        write(&mut w)
            .and_then(|()| w.flush())
            .map_err(err("writing", &tmp_path))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(err("syncing", &tmp_path))?;
    // On failure `persist` hands the file back, and dropping it removes it.
    tmp.persist(path)
        .map_err(|e| e.error)
        .map_err(err("renaming the new file over", path))?;
    // Make the rename itself durable; not every filesystem allows fsync on a directory.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use v6probe_lab::TempDir;

    #[test]
    fn reads_regular_files_within_the_bound_only() {
        let d = TempDir::new("files-read").unwrap();
        let p = d.file("a", b"hello").unwrap();
        assert_eq!(read_regular(&p, 5).unwrap().as_deref(), Some(&b"hello"[..]));
        let e = read_regular(&p, 4).unwrap_err();
        assert!(e.to_string().contains("longer than the 4 bytes"), "{e}");
        assert!(read_regular(&d.path().join("missing"), 9)
            .unwrap()
            .is_none());
        let e = read_regular(d.path(), 9).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let e = read_regular(Path::new("/dev/zero"), 9).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        // A FIFO without a writer: refused at once, not waited on.
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_regular(&fifo, 9).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        // A dangling link is not "no file yet"; a link loop is an error.
        let dangling = d.path().join("dangling");
        std::os::unix::fs::symlink(d.path().join("nowhere"), &dangling).unwrap();
        let e = read_regular(&dangling, 9).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let lp = d.path().join("loop");
        std::os::unix::fs::symlink(&lp, &lp).unwrap();
        assert!(read_regular(&lp, 9).is_err());
    }

    #[test]
    fn atomic_write_is_private_and_replaces_a_link_without_following_it() {
        let d = TempDir::new("files-write").unwrap();
        let victim = d.file("victim", b"keep me").unwrap();
        let target = d.path().join("out.json");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        write_atomic(&target, 0o600, b"new").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        let m = std::fs::symlink_metadata(&target).unwrap();
        assert!(m.file_type().is_file());
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        // Nothing else is left in the directory.
        let mut names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["out.json", "victim"]);
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let d = TempDir::new("files-fail").unwrap();
        // The target is a directory: the rename fails.
        let target = d.path().join("sub");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("x"), b"x").unwrap();
        let e = write_atomic(&target, 0o600, b"data").unwrap_err();
        assert!(e.to_string().contains("renaming"), "{e}");
        let n = std::fs::read_dir(d.path()).unwrap().count();
        assert_eq!(n, 1, "only the directory is left");
    }
}
