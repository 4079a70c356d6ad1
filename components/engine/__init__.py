"""The Pulumi engine for this program: finding it (discover), building it (build, gobuild) and running the program with it (runner)."""
