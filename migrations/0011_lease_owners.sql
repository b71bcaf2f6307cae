-- Who holds a delivery's lease. Every dispatching process takes an owner number from this
-- sequence when it starts and holds it as a session advisory lock (class 1212435524, the
-- number as the second key) for as long as it runs; its claims write the number into
-- deliveries.leased_by, and a settle clears it. A process that starts makes the leased
-- deliveries of owners whose lock is free (processes that died without recording: kill -9, a
-- crash, a lost host) due at once, instead of when their lease runs out.
CREATE SEQUENCE herald_lease_owners AS integer CYCLE;
ALTER TABLE deliveries ADD COLUMN leased_by integer;
