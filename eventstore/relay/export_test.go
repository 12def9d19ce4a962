package relay

// CheckpointReads returns how many times w's watcher read the checkpoints.
func CheckpointReads(w *Waiter) int64 { return w.reads.Load() }

// Watching reports whether w's watcher goroutine runs.
func Watching(w *Waiter) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.watching
}

// SetBulkChunks sizes the chunks of r's bulk rebuilds: about events per
// chunk, a stream cut past max.
func SetBulkChunks(r *Replayer, events, max int) { r.chunk, r.maxChunk = events, max }
