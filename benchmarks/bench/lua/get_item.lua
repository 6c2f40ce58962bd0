-- GET /items/<id> over random ids of the seeded rows. Arguments: first id, last id.
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("thread_number", threads)
end

function init(args)
   first_id = tonumber(args[1])
   last_id = tonumber(args[2])
   -- Each wrk thread draws its own sequence.
   math.randomseed(os.time() * 1000 + thread_number)
end

function request()
   return wrk.format("GET", "/items/" .. math.random(first_id, last_id))
end
