"""Files the program writes: whole or not at all (`atomic_files`), with a record of what it
generated (`written_record`); render mode's manifests (`manifest_files`)."""
