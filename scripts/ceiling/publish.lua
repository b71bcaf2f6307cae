-- wrk: one event per request to Herald's REST API (the key comes from HERALD_API_KEY).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("HERALD_API_KEY")
wrk.body = '{"type":"user.created","data":{"user_id":"usr_123","email":"ada@example.com","name":"Ada Lovelace"}}'

