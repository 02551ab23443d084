// Package atomicfile replaces a file's content all at once, durably.
//
// Write and WriteFunc write to a temporary file in the target's directory, fsync it, rename
// it over the target and fsync the directory. A reader of the path sees the old content or
// the new one, never a part, and after a crash the path holds one of the two. When anything
// fails before the rename, the old file is left as it was and the temporary file removed;
// when only the directory's sync fails, the new content is in place but may not survive a
// crash, and the error says so.
//
// The file written has the mode the caller gives, less the process's umask, like a file
// os.WriteFile creates; a replaced file's mode is not kept. hybridtrain gives every file
// Perm (0644: the owner writes, everyone reads, as for the checkpoints). The package is a
// leaf: it imports only the standard library.
package atomicfile
