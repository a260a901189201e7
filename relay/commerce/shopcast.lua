#!lua name=shopcast
-- shopcast's commerce functions: the catalog, the pinned product, flash sales and orders, each
-- change one atomic call. docs/COMMERCE.md is the contract (keys, arguments, replies, events).
--
-- KEYS[1] is always the stream's own hash, "<prefix>stream:{<id>}". Every other key of the
-- stream is KEYS[1] .. ":<suffix>", so all of them share the {<id>} hash tag and one Redis
-- Cluster slot. Every change increments KEYS[1]:seq and publishes a JSON event, carrying the new
-- snapshot of what the card shows, on KEYS[1]:events. Times are Redis's own (TIME), in ms.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function num(v)
  return tonumber(v) or 0
end

local function product_key(s, pid)
  return s .. ':product:' .. pid
end

-- The flash sale as a table, or nil when none runs for any product at time now.
local function flash_of(s, now)
  local f = redis.call('HGETALL', s .. ':flash')
  if #f == 0 then
    return nil
  end
  local t = {}
  for i = 1, #f, 2 do
    t[f[i]] = f[i + 1]
  end
  if num(t.ends_ms) <= now or num(t.left) <= 0 then
    return nil
  end
  return {
    id = t.id, product = t.product, price = num(t.price), ends_ms = num(t.ends_ms),
    left = num(t.left), cap = num(t.cap), limit = num(t.limit), started_ms = num(t.started_ms)
  }
end

local product_fields = { 'name', 'price', 'regular_price', 'currency', 'stock', 'sold', 'revenue',
  'image' }

local function product_of(s, pid)
  local v = redis.call('HMGET', product_key(s, pid), unpack(product_fields))
  if not v[1] then
    return nil
  end
  return {
    id = pid, name = v[1], price = num(v[2]), regular_price = num(v[3]), currency = v[4],
    stock = num(v[5]), sold = num(v[6]), revenue = num(v[7]), image = v[8] or ''
  }
end

-- What the card shows now: the pinned product with the price charged now, and the flash sale
-- when it is for that product. This table is the "state" of every event and of shopcast_state.
local function snapshot(s, now)
  local seq = num(redis.call('GET', s .. ':seq'))
  local pid = redis.call('GET', s .. ':pinned')
  local st = { seq = seq, now_ms = now, pinned = false }
  if not pid then
    return st
  end
  local p = product_of(s, pid)
  if not p then
    return st
  end
  local f = flash_of(s, now)
  st.pinned = true
  st.product = p
  st.price = p.price
  if f and f.product == pid then
    st.price = f.price
    st.flash = { id = f.id, price = f.price, ends_ms = f.ends_ms, left = math.min(f.left, p.stock),
      cap = f.cap, limit = f.limit }
  end
  return st
end

-- Bumps the stream's sequence number and tells every relay what changed.
local function changed(s, now, ev)
  redis.call('INCR', s .. ':seq')
  ev.state = snapshot(s, now)
  ev.seq = ev.state.seq
  redis.call('PUBLISH', s .. ':events', cjson.encode(ev))
  return ev.seq
end

local function need_stream(s)
  if redis.call('EXISTS', s) == 0 then
    return redis.error_reply('NOSTREAM no such stream')
  end
end

local function need_product(s, pid)
  if redis.call('EXISTS', product_key(s, pid)) == 0 then
    return redis.error_reply('NOPRODUCT no such product')
  end
end

-- shopcast_product_put KEYS[1]=stream ARGV: product_id, field, value, ... (fields: name, price,
-- regular_price, currency, stock). Creates the product or changes the fields given. A new
-- product needs name, price and currency; regular_price defaults to price, stock to 0.
-- regular_price follows price while the two are equal (the product has no regular price of its
-- own), and is never below it (BADFIELD). Reply: { seq, created (1 or 0) }.
-- shopcast_product_add: the same, but only creates (EXISTS when the product is there);
-- shopcast_product_set: only changes (NOPRODUCT when it is not). Reply: { seq, product JSON }.
local settable = { name = true, price = true, regular_price = true, currency = true, stock = true }

local function fields_of(args)
  local set, given = {}, {}
  for i = 2, #args - 1, 2 do
    if not settable[args[i]] then
      return nil, nil, redis.error_reply('BADFIELD unknown product field ' .. args[i])
    end
    given[args[i]] = args[i + 1]
    set[#set + 1] = args[i]
    set[#set + 1] = args[i + 1]
  end
  return set, given
end

-- The regular price after the change, or an error when it would be below the price.
local function regular_after(k, created, given)
  local price, regular
  if created then
    price = num(given.price)
    regular = given.regular_price and num(given.regular_price) or price
  else
    local old = redis.call('HMGET', k, 'price', 'regular_price')
    price = given.price and num(given.price) or num(old[1])
    regular = given.regular_price and num(given.regular_price)
      or (num(old[2]) == num(old[1]) and price or num(old[2]))
  end
  if regular < price then
    return nil, redis.error_reply('BADFIELD regular_price (' .. regular ..
      ') must not be below price (' .. price .. ')')
  end
  return regular
end

-- Every check comes before the first write: a refused call changes nothing.
local function product_write(keys, args, mode)
  local s, pid = keys[1], args[1]
  local err = need_stream(s)
  if err then return nil, err end
  local k = product_key(s, pid)
  local created = redis.call('EXISTS', k) == 0
  if mode == 'add' and not created then
    return nil, redis.error_reply('EXISTS product ' .. pid .. ' exists already')
  elseif mode == 'set' and created then
    return nil, redis.error_reply('NOPRODUCT no such product')
  end
  local set, given, ferr = fields_of(args)
  if ferr then return nil, ferr end
  if created and not (given.name and given.price and given.currency) then
    return nil, redis.error_reply('BADFIELD a new product needs name, price and currency')
  end
  local regular, rerr = regular_after(k, created, given)
  if rerr then return nil, rerr end
  local now = now_ms()
  set[#set + 1] = 'regular_price'
  set[#set + 1] = tostring(regular)
  if created then
    local defaults = { 'stock', given.stock or '0', 'sold', '0', 'revenue', '0', 'image', '',
      'created_ms', now }
    for i = 1, #defaults do set[#set + 1] = defaults[i] end
    redis.call('ZADD', s .. ':products', now, pid)
  end
  set[#set + 1] = 'updated_ms'
  set[#set + 1] = now
  redis.call('HSET', k, unpack(set))
  return { changed(s, now, { type = 'product', product = pid }), created and 1 or 0 }
end

local function product_put(keys, args)
  local r, err = product_write(keys, args, 'put')
  return r or err
end

local function product_add_or_set(mode)
  return function(keys, args)
    local r, err = product_write(keys, args, mode)
    if not r then return err end
    return { r[1], cjson.encode(product_of(keys[1], args[1])) }
  end
end

-- shopcast_product_get KEYS[1]=stream ARGV: product_id (read only). Reply: the product, JSON
-- (as in the snapshot: id, name, price, regular_price, currency, stock, sold, revenue, image).
local function product_get(keys, args)
  local err = need_stream(keys[1]) or need_product(keys[1], args[1])
  if err then return err end
  return cjson.encode(product_of(keys[1], args[1]))
end

-- shopcast_product_del KEYS[1]=stream ARGV: product_id. Unpins it and ends its flash sale.
-- Sold counts and the order log stay. Reply: seq.
local function product_del(keys, args)
  local s, pid = keys[1], args[1]
  local err = need_product(s, pid)
  if err then return err end
  redis.call('DEL', product_key(s, pid), s .. ':image:' .. pid)
  redis.call('ZREM', s .. ':products', pid)
  if redis.call('GET', s .. ':pinned') == pid then
    redis.call('DEL', s .. ':pinned')
  end
  if redis.call('HGET', s .. ':flash', 'product') == pid then
    redis.call('DEL', s .. ':flash')
  end
  return changed(s, now_ms(), { type = 'product_deleted', product = pid })
end

-- shopcast_product_image KEYS[1]=stream ARGV: product_id, thumbnail bytes ("" removes it).
-- The relay validates, decodes and scales an upload first; the bytes are its thumbnail format
-- (docs/COMMERCE.md). The product's image field becomes the new seq, so relays refetch it.
-- Reply: seq.
local function product_image(keys, args)
  local s, pid, bytes = keys[1], args[1], args[2]
  local err = need_product(s, pid)
  if err then return err end
  local ik = s .. ':image:' .. pid
  local version = ''
  if bytes == '' then
    redis.call('DEL', ik)
  else
    redis.call('SET', ik, bytes)
    version = tostring(num(redis.call('GET', s .. ':seq')) + 1)
  end
  redis.call('HSET', product_key(s, pid), 'image', version)
  return changed(s, now_ms(), { type = 'product', product = pid })
end

-- shopcast_pin KEYS[1]=stream ARGV: product_id, or "" to unpin. Reply: seq.
local function pin(keys, args)
  local s, pid = keys[1], args[1]
  if pid == '' then
    local err = need_stream(s)
    if err then return err end
    redis.call('DEL', s .. ':pinned')
  else
    local err = need_product(s, pid)
    if err then return err end
    redis.call('SET', s .. ':pinned', pid)
  end
  return changed(s, now_ms(), { type = 'pin', product = pid })
end

-- shopcast_flash_start KEYS[1]=stream ARGV: product_id, price, duration_ms, cap, limit.
-- Replaces any flash sale of the stream. price: below the product's price (a flash sale that
-- charges more is refused, BADFIELD); cap: units at the flash price (0: the stock); limit: units
-- per buyer (0: none). Reply: { seq, flash id, ends_ms, cap }.
local function flash_start(keys, args)
  local s, pid = keys[1], args[1]
  local price, dur, cap, limit = num(args[2]), num(args[3]), num(args[4]), num(args[5])
  local err = need_product(s, pid)
  if err then return err end
  if price <= 0 or dur <= 0 or cap < 0 or limit < 0 then
    return redis.error_reply('BADFIELD price and duration must be positive')
  end
  local p = redis.call('HMGET', product_key(s, pid), 'stock', 'price')
  local stock = num(p[1])
  if price >= num(p[2]) then
    return redis.error_reply('BADFIELD the flash price (' .. price ..
      ') must be below the product\'s price (' .. num(p[2]) .. ')')
  end
  if cap == 0 or cap > stock then cap = stock end
  local now = now_ms()
  local id = tostring(num(redis.call('GET', s .. ':seq')) + 1)
  redis.call('DEL', s .. ':flash')
  redis.call('HSET', s .. ':flash', 'id', id, 'product', pid, 'price', price, 'ends_ms',
    now + dur, 'cap', cap, 'left', cap, 'limit', limit, 'started_ms', now)
  -- The per-buyer counts live as long as the sale, plus a day for disputes.
  return { changed(s, now, { type = 'flash', product = pid }), id, now + dur, cap }
end

-- shopcast_flash_stop KEYS[1]=stream. Reply: seq (also when none ran).
local function flash_stop(keys, args)
  local s = keys[1]
  local err = need_stream(s)
  if err then return err end
  redis.call('DEL', s .. ':flash')
  return changed(s, now_ms(), { type = 'flash', product = '' })
end

-- shopcast_order KEYS[1]=stream ARGV: order_id, product_id, qty, buyer ("" none), shown price
-- ("" none), dedup seconds, order log MAXLEN.
-- Reply: { status, body JSON }, status as HTTP: 201 counted, 200 a replay of the same order
-- (the original body), 422 the order_id was used with another order, 409 refused (body.error:
-- sold_out, limit_reached, price_changed, buyer_required), 404 (no_stream, no_product).
local function refuse(status, reason, extra)
  local b = extra or {}
  b.error = reason
  return { status, cjson.encode(b) }
end

-- An order reads only what it needs: the product's price, stock and currency, and the flash
-- sale's fields when the sale is for this product. This is the hot path (one call per order).
local function order_product(s, pid)
  local v = redis.call('HMGET', product_key(s, pid), 'price', 'stock', 'currency', 'sold',
    'revenue')
  if not v[1] then
    return nil
  end
  return { price = num(v[1]), stock = num(v[2]), currency = v[3], sold = num(v[4]),
    revenue = num(v[5]) }
end

local function order_flash(s, pid, now)
  local v = redis.call('HMGET', s .. ':flash', 'product', 'price', 'ends_ms', 'left', 'limit', 'id')
  if v[1] ~= pid or num(v[3]) <= now or num(v[4]) <= 0 then
    return nil
  end
  return { price = num(v[2]), ends_ms = num(v[3]), left = num(v[4]), limit = num(v[5]), id = v[6] }
end

-- Why the order cannot be counted, as a reply, or nil when it can.
local function order_check(s, p, qty, buyer, shown, price, f)
  if shown ~= '' and num(shown) ~= price then
    return refuse(409, 'price_changed', { price = price, currency = p.currency })
  end
  if p.stock < qty or (f and f.left < qty) then
    return refuse(409, 'sold_out', { stock = f and math.min(f.left, p.stock) or p.stock })
  end
  if f and f.limit > 0 then
    if buyer == '' then
      return refuse(409, 'buyer_required', { limit = f.limit })
    end
    local had = num(redis.call('HGET', s .. ':flash:' .. f.id .. ':buyers', buyer))
    if had + qty > f.limit then
      return refuse(409, 'limit_reached', { limit = f.limit, bought = had })
    end
  end
  return nil
end

-- Counts the order; returns the product's stock and sold after it, and the flash sale's units
-- left (nil without a sale).
local function order_count(s, oid, pid, p, qty, buyer, price, f, now, maxlen)
  local amount, left = price * qty, nil
  -- one write for the three counters (the function is atomic: nothing changed them since HMGET)
  local stock, sold = p.stock - qty, p.sold + qty
  redis.call('HSET', product_key(s, pid), 'stock', stock, 'sold', sold, 'revenue',
    p.revenue + amount)
  if f then
    left = redis.call('HINCRBY', s .. ':flash', 'left', -qty)
    if buyer ~= '' then
      local bk = s .. ':flash:' .. f.id .. ':buyers'
      redis.call('HINCRBY', bk, buyer, qty)
      redis.call('PEXPIREAT', bk, f.ends_ms + 86400000)
    end
  end
  local mk = s .. ':opm:' .. math.floor(now / 60000)
  if redis.call('INCR', mk) == 1 then
    redis.call('EXPIRE', mk, 180)
  end
  redis.call('XADD', s .. ':orders', 'MAXLEN', '~', maxlen, '*', 'order_id', oid, 'product', pid,
    'qty', qty, 'price', price, 'amount', amount, 'buyer', buyer, 'flash', f and f.id or '')
  return stock, sold, left
end

-- An order's event carries what changed, not a whole snapshot (that would cost Redis a third
-- more per order): the product's sold and stock, and the flash sale's units left. A relay whose
-- last seq is this one's minus 1 applies it to its snapshot; any other reloads the snapshot.
local function order_event(s, pid, qty, price, stock, sold, left)
  local seq = redis.call('INCR', s .. ':seq')
  local ev = { type = 'order', seq = seq, product = pid, qty = qty, price = price, sold = sold,
    stock = stock }
  if left then
    ev.flash_left = left
  end
  redis.call('PUBLISH', s .. ':events', cjson.encode(ev))
  return seq
end

local function order(keys, args)
  local s, oid, pid, qty, buyer, shown = keys[1], args[1], args[2], num(args[3]), args[4], args[5]
  local ttl, maxlen = num(args[6]), num(args[7])
  if redis.call('EXISTS', s) == 0 then
    return refuse(404, 'no_stream')
  end
  local ok = s .. ':order:' .. oid
  local fingerprint = cjson.encode({ pid, qty, buyer, shown })
  local seen = redis.call('GET', ok)
  if seen then
    local nl = string.find(seen, '\n', 1, true)
    if string.sub(seen, 1, nl - 1) == fingerprint then
      return { 200, string.sub(seen, nl + 1) }
    end
    return refuse(422, 'order_id_reused')
  end
  local p = order_product(s, pid)
  if not p then
    return refuse(404, 'no_product')
  end
  local now = now_ms()
  local f = order_flash(s, pid, now)
  local price = f and f.price or p.price
  local no = order_check(s, p, qty, buyer, shown, price, f)
  if no then return no end
  local stock, sold, left = order_count(s, oid, pid, p, qty, buyer, price, f, now, maxlen)
  local seq = order_event(s, pid, qty, price, stock, sold, left)
  local body = cjson.encode({ order_id = oid, product = pid, qty = qty, price = price,
    amount = price * qty, currency = p.currency, sold = sold, stock = stock, seq = seq })
  redis.call('SET', ok, fingerprint .. '\n' .. body, 'EX', ttl)
  return { 201, body }
end

-- shopcast_state KEYS[1]=stream (read only). Reply: the snapshot as JSON, or NOSTREAM.
local function state(keys)
  local err = need_stream(keys[1])
  if err then return err end
  return cjson.encode(snapshot(keys[1], now_ms()))
end

-- shopcast_sales KEYS[1]=stream (read only). Reply: JSON { products: [{id, name, price,
-- regular_price, currency, stock, sold, revenue}], orders_per_minute, seq }.
local function sales(keys)
  local s = keys[1]
  local err = need_stream(s)
  if err then return err end
  local now = now_ms()
  local list = {}
  for _, pid in ipairs(redis.call('ZRANGE', s .. ':products', 0, -1)) do
    local p = product_of(s, pid)
    if p then list[#list + 1] = p end
  end
  -- Orders in the last 60 s: this minute's count plus the share of the last minute still inside.
  local minute = math.floor(now / 60000)
  local frac = (now % 60000) / 60000
  local opm = num(redis.call('GET', s .. ':opm:' .. minute))
    + num(redis.call('GET', s .. ':opm:' .. (minute - 1))) * (1 - frac)
  local out = { orders_per_minute = math.floor(opm + 0.5),
    seq = num(redis.call('GET', s .. ':seq')) }
  out.products = list
  local json = cjson.encode(out)
  if #list == 0 then -- cjson writes an empty table as an object
    json = string.gsub(json, '"products":{}', '"products":[]')
  end
  return json
end

redis.register_function('shopcast_product_put', product_put)
redis.register_function('shopcast_product_add', product_add_or_set('add'))
redis.register_function('shopcast_product_set', product_add_or_set('set'))
redis.register_function('shopcast_product_del', product_del)
redis.register_function('shopcast_product_image', product_image)
redis.register_function('shopcast_pin', pin)
redis.register_function('shopcast_flash_start', flash_start)
redis.register_function('shopcast_flash_stop', flash_stop)
redis.register_function('shopcast_order', order)
redis.register_function { function_name = 'shopcast_state', callback = state,
  flags = { 'no-writes' } }
redis.register_function { function_name = 'shopcast_product_get', callback = product_get,
  flags = { 'no-writes' } }
redis.register_function { function_name = 'shopcast_sales', callback = sales,
  flags = { 'no-writes' } }
