"""Safe decoding of images and videos into pixels, with limits and typed errors."""
