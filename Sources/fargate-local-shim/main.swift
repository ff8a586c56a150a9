import ShimCore
#if canImport(Glibc)
import Glibc
#endif

// fargate-local-shim DIR: runs one process-runtime container (see ContainerShim).
guard CommandLine.arguments.count == 2 else {
    let usage = Array("usage: fargate-local-shim DIR (started by fargate-local's process runtime)\n".utf8)
    _ = write(2, usage, usage.count)
    exit(2)
}
exit(ContainerShim.run(directory: CommandLine.arguments[1]))
