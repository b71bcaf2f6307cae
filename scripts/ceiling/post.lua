-- wrk: a webhook-sized POST, for the receiver's own ceiling.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"id":"evt_0193a1b2c3d4e5f60718293a4b5c6d7e","type":"user.created","created_at":"2026-11-30T00:00:00.000Z","data":{"user_id":"usr_123","email":"ada@example.com","name":"Ada Lovelace"}}'
