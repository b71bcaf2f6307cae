-- wrk: batches of 100 events per request to Herald's REST API (the key comes from HERALD_API_KEY).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("HERALD_API_KEY")
local event = '{"type":"user.created","data":{"user_id":"usr_123","email":"ada@example.com","name":"Ada Lovelace"}}'
local events = {}
for i = 1, 100 do events[i] = event end
wrk.body = '{"events":[' .. table.concat(events, ",") .. ']}'
