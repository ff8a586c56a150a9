import Foundation
import ZipTask

#if canImport(Glibc)
import CMalloc

// Keep large buffers (8 MiB upload parts) mmapped and returned to the kernel when freed:
// glibc otherwise raises its mmap threshold after the first free and keeps them on the heap.
_ = mallopt(M_MMAP_THRESHOLD, 1 << 20)
_ = mallopt(M_ARENA_MAX, 2)
#endif

let environment = ProcessInfo.processInfo.environment
do {
    let config = try TaskConfiguration.fromEnvironment(environment)
    let credentials = try AWSCredentials.resolve(environment)
    let outcome = try ZipPipeline(config: config, credentials: credentials).run()
    Log.info("done", "download URL", [("url", outcome.url)])
    exit(0)
} catch {
    Log.error("failed", error.message, [("exit_code", String(error.exitCode))])
    exit(error.exitCode)
}
