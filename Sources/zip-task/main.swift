import Foundation
import ZipTask

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
