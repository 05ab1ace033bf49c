//! glibc's allocator, tuned for the sharded run.
//!
//! glibc raises its mmap and trim thresholds each time a large block (a hash table's array,
//! a timer queue) is freed, up to 32 MB; from then on such blocks come from the threads' heaps
//! and their memory is never handed back. With four threads allocating and freeing at
//! different times, that held about 25 MB more at the large corpus's peak (175 MB against
//! 151 MB with fixed thresholds, `--threads 2`). Fixing the thresholds at their defaults
//! keeps large blocks in their own mappings, returned when freed.

/// Fixes both thresholds at glibc's initial 128 KiB. Called once, before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn fix_thresholds() {
    const THRESHOLD: libc::c_int = 128 * 1024;
    // SAFETY: mallopt only sets allocator parameters; it is called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn fix_thresholds() {}
