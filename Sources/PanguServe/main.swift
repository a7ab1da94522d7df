// Composition root of pangu-serve: picks the subcommand and runs it.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let subcommands = ["serve", "generate", "bench serve", "simulate", "devices"]
let usage = """
    pangu-serve \(PanguServeVersion.string): an OpenAI-compatible server for Huawei's open Pangu models

    usage: pangu-serve [serve] [options]     run the daemon (default: the embedded demo model on 127.0.0.1:8000)
           pangu-serve generate [options]    run one prompt and print the continuation
           pangu-serve bench serve [options] drive a running server with concurrent streaming clients
           pangu-serve simulate [options]    predict latency and throughput on simulated Ascend NPUs
           pangu-serve devices [options]     list the configured devices (npu-smi style)
           pangu-serve --version
    Run a subcommand with --help for its options.
    """

do {
    switch arguments.first {
    case "serve": try await ServeCommand.run(Array(arguments.dropFirst()))
    case "generate": try GenerateCommand.run(Array(arguments.dropFirst()))
    case "bench" where arguments.dropFirst().first == "serve": try BenchServeCommand.run(Array(arguments.dropFirst(2)))
    case "simulate": try SimulateCommand.run(Array(arguments.dropFirst()))
    case "devices": try DevicesCommand.run(Array(arguments.dropFirst()))
    case "-h", "--help", "help": print(usage)
    case "--version", "version": print("pangu-serve \(PanguServeVersion.string)")
    case let first? where first.hasPrefix("-"): try await ServeCommand.run(arguments)
    case let other?: exitWithError("unknown subcommand \(other); one of: \(subcommands.joined(separator: ", "))")
    case nil: try await ServeCommand.run([])
    }
} catch {
    exitWithError(error.description)
}
