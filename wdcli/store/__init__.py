"""Where results live: the journal (one line per finished run), the results document (written
atomically, loaded with checks), the destination of a sweep and the convention it states."""
