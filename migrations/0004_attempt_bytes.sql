-- What a receiver answers is stored as the bytes it sent. Response bodies and header values
-- may hold NUL bytes, invalid UTF-8 or anything else; in `text` or `jsonb` columns PostgreSQL
-- refuses such a row, and with it the whole batch of results it was written with. So:
--   response_body     text  -> bytea  (the first 64 KiB, byte for byte)
--   response_headers  jsonb -> bytea  (the header block as received: "name: value\r\n" lines)
-- The portal and the API show them readably (invalid bytes escaped, flagged as binary).

CREATE FUNCTION herald_header_block(pairs jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(coalesce(string_agg((p ->> 0) || ': ' || (p ->> 1) || E'\r\n', '' ORDER BY n), ''), 'UTF8')
    FROM jsonb_array_elements(pairs) WITH ORDINALITY AS t(p, n)
$$;

ALTER TABLE delivery_attempts
    ALTER COLUMN response_body TYPE bytea USING convert_to(response_body, 'UTF8'),
    ALTER COLUMN response_headers TYPE bytea USING herald_header_block(response_headers);

DROP FUNCTION herald_header_block(jsonb);

-- Two more failure classes:
--   invalid_response  the answer was not HTTP Herald can read (garbage status line, a NUL in a
--                     header, more headers than allowed);
--   unrecordable      the attempt happened but its result could not be written as received;
--                     the delivery is marked failed (not sent again blindly) for an admin to retry.
ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_error_class_check;
ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_error_class_check
    CHECK (error_class IN ('http_status', 'timeout', 'connect', 'dns', 'tls', 'redirect',
                           'ssrf_blocked', 'body_too_large', 'invalid_response', 'unrecordable'));
