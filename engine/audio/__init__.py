"""Audio: the output stream, its compiled callback, the mixer and its kernels, render."""
