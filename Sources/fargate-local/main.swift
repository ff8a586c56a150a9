import CLI

await FargateLocalCommand.runFromCommandLine()
