import Foundation
import ShimCore
import Subprocess

#if canImport(Glibc)
import Glibc
#endif

/// Hands a process's pipe on to a sink as batches of lines, stamped with the time they were read.
enum LineSplitter {
    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    static func drain(_ sequence: SubprocessOutputSequence, source: OutputBatch.Source, into sink: any ContainerOutputSink) async {
        var assembler = LineAssembler()
        do {
            for try await buffer in sequence {
                let lines = buffer.withUnsafeBytes { assembler.append($0) }
                if !lines.isEmpty {
                    await sink.receive(OutputBatch(source: source, timestamps: Array(repeating: now(), count: lines.count), lines: lines))
                }
            }
        } catch {
            // The pipe failed; whatever was read is still delivered below.
        }
        if let last = assembler.finish() {
            await sink.receive(OutputBatch(source: source, timestamps: [now()], lines: [last]))
        }
    }
}
