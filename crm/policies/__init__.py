"""The catalogue of policies officers explain on visits; administrators keep it."""
