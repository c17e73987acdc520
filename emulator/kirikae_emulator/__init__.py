"""kirikae's local AWS emulator: moto in server mode plus the additions the story needs.

kirikae itself knows nothing of this package; it is pointed at it with `[aws] endpoint_url`.
See emulator/README.md for what each addition does and how it differs from AWS.
"""
