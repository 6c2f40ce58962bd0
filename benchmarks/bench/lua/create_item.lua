-- POST /items, each with a name no other request uses: run tag, wrk thread, request count.
-- Argument: the run tag (differs between warm-up and measured runs on the same database).
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("thread_number", threads)
end

function init(args)
   tag = args[1]
   sent = 0
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   sent = sent + 1
   local body = string.format(
      '{"name": "bench-%s-%d-%d", "description": "written by wrk"}', tag, thread_number, sent
   )
   return wrk.format("POST", "/items", nil, body)
end
