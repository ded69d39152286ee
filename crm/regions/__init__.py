"""The region tree: city → county/district → township/street (GB/T 2260 codes)."""
