-- wrk script for bench/orders_api.sh: POSTs one order per request, every order_id unique (run
-- tag, thread, counter), with the operator token (viewer orders would be rate-limited).
-- Environment: ORDERS_TOKEN (operator token), ORDERS_PRODUCT, ORDERS_TAG (unique per run).
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  prefix = string.format("%s-%d-", os.getenv("ORDERS_TAG"), tid)
  product = os.getenv("ORDERS_PRODUCT")
  headers = { ["Content-Type"] = "application/json",
              ["Authorization"] = "Bearer " .. os.getenv("ORDERS_TOKEN") }
  counter = 0
end

function request()
  counter = counter + 1
  local body = string.format('{"order_id":"%s%d","product":"%s","qty":1}', prefix, counter,
    product)
  return wrk.format("POST", nil, headers, body)
end
