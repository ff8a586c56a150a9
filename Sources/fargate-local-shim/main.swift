import ShimCore

#if canImport(Glibc)
import Glibc
#endif

// fargate-local-shim DIR [--notify-fd N]: runs one process-runtime container (see ContainerShim).
let arguments = CommandLine.arguments
let notifyFD: Int32? = arguments.count == 4 && arguments[2] == "--notify-fd" ? Int32(arguments[3]) : nil
guard arguments.count == 2 || notifyFD != nil else {
    let usage = Array("usage: fargate-local-shim DIR [--notify-fd N] (started by fargate-local's process runtime)\n".utf8)
    _ = write(2, usage, usage.count)
    exit(2)
}
exit(ContainerShim.run(directory: arguments[1], notifyFD: notifyFD))
