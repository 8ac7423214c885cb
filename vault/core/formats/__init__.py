"""coldvault's file formats, one module each, as docs/ specifies them.

`fields` is the one strict reader and the one canonical JSON encoder every JSON
format uses: `manifest`, `envelope`, `transcript` (and its signature), `drills` (the
drill log's records); `plan` reads TOML through the same reader; `sharefile` is the
share file's text.
"""
