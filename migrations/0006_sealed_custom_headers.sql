-- Custom header values are credentials as often as not (Authorization, X-Api-Key, …), so
-- they are kept like signing secrets: the [[name, value], …] list is sealed with AES-256-GCM
-- under the server key in custom_headers_sealed, and custom_headers keeps only what may be
-- shown: each name with its masked value ("••••" and, for long values, the last 4 characters).
-- Rows written before this change still hold plain values in custom_headers; `herald serve`
-- seals them at start (the key is not available to SQL), and until then the dispatcher reads
-- them from there.
ALTER TABLE endpoints ADD COLUMN custom_headers_sealed bytea;
