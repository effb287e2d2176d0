"""The song model: note and event arrays, songs and tracks, the tempo and meter maps."""
