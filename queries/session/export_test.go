package session

// CleanupInChunks is Cleanup with chunks of the given size.
var CleanupInChunks = cleanup
