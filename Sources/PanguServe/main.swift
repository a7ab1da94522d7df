// Composition root of pangu-serve: picks the subcommand and runs it.
import Foundation


let arguments = Array(CommandLine.arguments.dropFirst())
let subcommands = ["serve", "generate", "simulate", "devices"]
let usage = """
    usage: pangu-serve [serve] [options]     run the OpenAI-compatible daemon
           pangu-serve generate [options]    run one prompt and print the continuation
           pangu-serve simulate [options]    predict latency and throughput on simulated Ascend NPUs
           pangu-serve devices [options]     list the configured devices (npu-smi style)
    Run a subcommand with --help for its options.
    """

do {
    switch arguments.first {
    case "generate": try GenerateCommand.run(Array(arguments.dropFirst()))
    case "simulate": try SimulateCommand.run(Array(arguments.dropFirst()))
    case "devices": try DevicesCommand.run(Array(arguments.dropFirst()))
    case "-h", "--help", "help": print(usage)
    case let other?: exitWithError("unknown subcommand \(other); one of: \(subcommands.joined(separator: ", "))")
    case nil: print(usage)
    }
} catch {
    exitWithError(error.description)
}
