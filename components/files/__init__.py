"""Files the program generates, written whole or not at all (`atomic_files`), with a record of
what it wrote (`written_record`): used by the docs generator and by render mode's manifests."""
