from experiments.report.build import main

main()
