"""The commands of `python -m components` (`cli`), and what only they use: the models a cluster
runs, the diff and promotion between stacks, the pull-request summary."""
