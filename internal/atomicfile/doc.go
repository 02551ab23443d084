// Package atomicfile replaces a file's content all at once, durably.
//
// Write and WriteFunc write to a temporary file in the target's directory, fsync it, rename
// it over the target and fsync the directory. A reader of the path sees the old content or
// the new one, never a part; after a crash the path holds one of the two; on any error the
// old file is left as it was and the temporary file is removed.
//
// New files are created with Perm (0644: the owner writes, everyone reads, as for the
// checkpoints), less the process's umask, like os.WriteFile. The package is a leaf: it
// imports only the standard library.
package atomicfile
