"""Text, image and joint text-image encoders, addressed by name in `registry`."""
