"""What the tests and the benchmarks both use: stack factories, Pulumi's mocks recording every registration, and the program run under them."""
