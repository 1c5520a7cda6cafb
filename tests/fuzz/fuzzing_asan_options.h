// ASan's defaults for the fuzz targets' fuzzing builds (instrumented for
// coverage; the replay tests of the sanitizer builds keep ASan's own
// defaults). Include it in the target's one source file. The environment
// wins: ASAN_OPTIONS=malloc_context_size=30 brings whole stacks back when
// reproducing a report.
//
// malloc_context_size=2: ASan keeps the stack of every allocation and free
// in a depot that never shrinks. Its frame-pointer unwinder walks on
// through Debian's libprotobuf, libabsl and libstdc++ (built without frame
// pointers) and takes what their frames hold for return addresses: heap
// pointers and string bytes, new with nearly every input. A decode run from
// the seeds held 10.6 M stacks (523 MB) after 6.2 M inputs, its RSS passed
// 1 GB and a third of its time went to looking stacks up. The allocator's
// caller alone cannot be garbage, so two frames keep the depot bounded (516
// stacks, RSS under 600 MB, over the same run).
//
// quarantine_size_mb=16: freed memory waits in a quarantine before it is
// reused, so that a use after free hits poisoned memory. ASan's 256 MB
// means every allocation takes pages nobody has touched for a long while
// (page faults, cold caches): server_connection ran at 19.7k inputs a
// second with it and 26k with 16 MB, its RSS 440 MB against 89 MB. An
// input frees far less than 16 MB, so a use after free within an input,
// or of what the input before it freed, is still caught.
#ifndef SOCKRPC_TESTS_FUZZ_FUZZING_ASAN_OPTIONS_H_
#define SOCKRPC_TESTS_FUZZ_FUZZING_ASAN_OPTIONS_H_

#if defined(__has_feature)
#if __has_feature(coverage_sanitizer)
extern "C" const char* __asan_default_options() {
  return "malloc_context_size=2:quarantine_size_mb=16";
}
#endif
#endif

#endif  // SOCKRPC_TESTS_FUZZ_FUZZING_ASAN_OPTIONS_H_
