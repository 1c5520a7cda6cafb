-- sockrpc.lua: a Wireshark dissector for the sockrpc wire protocol, version 1
-- (docs/PROTOCOL.md): the 8-byte preface, the 12-byte frame header, every
-- frame type and flag, the wire messages of proto/sockrpc/wire.proto
-- (CallHeader, ResponseHeader, CallStatus, CancelCall, GoAway, Settings,
-- FdsHeader) with their metadata, and MESSAGE payloads handed to Wireshark's protobuf dissector
-- as the request or reply of the method the stream's HEADERS named.
--
-- It reads
--   * captures written by `sockrpc tap --save` (exported PDUs that name this
--     dissector, docs/CAPTURE.md), and
--   * sockrpc over TCP on any port: a heuristic recognizes a connection by
--     its preface, and "Decode As" / the sockrpc.tcp_port preference name a
--     port outright.
-- Frames split across packets, and several frames in one packet, are
-- handled both ways (TCP reassembly over TCP; its own for exported PDUs).
--
-- Load it with `tshark -X lua_script:sockrpc.lua` (or `wireshark -X ...`),
-- or copy it into the personal Lua plugins folder. Give the protobuf
-- dissector the services' .proto files to see request and reply fields by
-- name: -o 'uat:protobuf_search_paths:"DIR","FALSE"'.

local sockrpc = Proto("sockrpc", "sockrpc RPC protocol")

local PREFACE_MAGIC = "SOCKRPC"
-- The Info column of a packet that holds only part of a frame.
local PART_OF_A_FRAME = "sockrpc: part of a frame, continued in a later packet"
local HEADER_SIZE = 12

local frame_types = {
  [0x01] = "HEADERS", [0x02] = "MESSAGE", [0x03] = "STATUS",
  [0x04] = "CANCEL", [0x05] = "WINDOW_UPDATE", [0x06] = "PING",
  [0x07] = "GOAWAY", [0x08] = "HALF_CLOSE", [0x09] = "SETTINGS",
  [0x0A] = "FDS",
}
local status_codes = {
  [0] = "OK", [1] = "CANCELLED", [2] = "UNKNOWN", [3] = "INVALID_ARGUMENT",
  [4] = "DEADLINE_EXCEEDED", [5] = "NOT_FOUND", [6] = "ALREADY_EXISTS",
  [7] = "PERMISSION_DENIED", [8] = "RESOURCE_EXHAUSTED",
  [9] = "FAILED_PRECONDITION", [10] = "ABORTED", [11] = "OUT_OF_RANGE",
  [12] = "UNIMPLEMENTED", [13] = "INTERNAL", [14] = "UNAVAILABLE",
  [15] = "DATA_LOSS", [16] = "UNAUTHENTICATED",
}

local f = {
  preface = ProtoField.bytes("sockrpc.preface", "Preface"),
  magic = ProtoField.string("sockrpc.preface.magic", "Magic"),
  version = ProtoField.uint8("sockrpc.preface.version", "Protocol version"),
  length = ProtoField.uint32("sockrpc.length", "Payload length"),
  stream = ProtoField.uint32("sockrpc.stream", "Stream id"),
  type = ProtoField.uint8("sockrpc.type", "Type", base.HEX, frame_types),
  flags = ProtoField.uint8("sockrpc.flags", "Flags", base.HEX),
  end_stream = ProtoField.bool("sockrpc.flags.end_stream", "END_STREAM", 8,
                               nil, 0x01),
  ack = ProtoField.bool("sockrpc.flags.ack", "ACK", 8, nil, 0x01),
  reserved = ProtoField.uint16("sockrpc.reserved", "Reserved", base.HEX),
  payload = ProtoField.bytes("sockrpc.payload", "Payload"),
  wire = ProtoField.none("sockrpc.wire", "Wire message"),
  method = ProtoField.string("sockrpc.method", "Method"),
  timeout = ProtoField.uint64("sockrpc.timeout_micros", "Timeout (µs)"),
  metadata = ProtoField.none("sockrpc.metadata", "Metadata"),
  md_key = ProtoField.string("sockrpc.metadata.key", "Key"),
  md_value = ProtoField.string("sockrpc.metadata.value", "Value"),
  md_value_bin = ProtoField.bytes("sockrpc.metadata.value_bin", "Value"),
  status_code = ProtoField.uint32("sockrpc.status.code", "Status code",
                                  base.DEC, status_codes),
  status_message = ProtoField.string("sockrpc.status.message", "Message"),
  cancel_reason = ProtoField.string("sockrpc.cancel.reason", "Reason"),
  window = ProtoField.uint32("sockrpc.window_increment", "Window increment"),
  ping = ProtoField.bytes("sockrpc.ping.payload", "Ping payload"),
  goaway_code = ProtoField.uint32("sockrpc.goaway.code", "Code", base.DEC,
                                  status_codes),
  goaway_message = ProtoField.string("sockrpc.goaway.message", "Message"),
  goaway_last = ProtoField.uint32("sockrpc.goaway.last_stream_id",
                                  "Last stream id"),
  max_fds = ProtoField.uint32("sockrpc.settings.max_fds_per_message",
                              "Most descriptors per message"),
  fds_count = ProtoField.uint32("sockrpc.fds.count",
                                "Descriptors with the next MESSAGE"),
  message_of = ProtoField.string("sockrpc.message_of", "Message of"),
  unknown_field = ProtoField.bytes("sockrpc.unknown_field", "Unknown field"),
}
sockrpc.fields = f

local e_bad_header = ProtoExpert.new("sockrpc.bad_header",
                                     "Malformed sockrpc frame header",
                                     expert.group.MALFORMED,
                                     expert.severity.ERROR)
local e_bad_payload = ProtoExpert.new("sockrpc.bad_payload",
                                      "Payload does not parse as its type",
                                      expert.group.MALFORMED,
                                      expert.severity.WARN)
local e_no_method = ProtoExpert.new("sockrpc.no_method",
                                    "No HEADERS seen for this stream",
                                    expert.group.SEQUENCE,
                                    expert.severity.NOTE)
sockrpc.experts = { e_bad_header, e_bad_payload, e_no_method }

sockrpc.prefs.tcp_port = Pref.uint("TCP port", 0,
                                   "A TCP port to decode as sockrpc (0: none; "
                                   .. "the heuristic finds other ports)")
sockrpc.prefs.max_payload = Pref.uint("Largest payload", 64 * 1024 * 1024,
                                      "A frame header announcing more is "
                                      .. "taken as damage")

-- Wireshark's protobuf dissector (3.2 and later); without it MESSAGE
-- payloads are shown as bytes.
local has_protobuf, protobuf = pcall(Dissector.get, "protobuf")
if not has_protobuf then protobuf = nil end

-- Connection state, kept from the first pass over the packets:
--   streams[conversation][stream id] = { method =, client = endpoint }
--   clients[conversation] = the endpoint that sent the first preface
--   per_packet[packet number][unit key] = { method =, from_client = }
--   pending[flow] = bytes of an exported-PDU flow not yet a whole unit
--   joined[packet number] = the bytes a packet's units were read from,
--                           when they began in earlier packets
local streams, clients, per_packet, pending, joined = {}, {}, {}, {}, {}

function sockrpc.init()
  streams, clients, per_packet, pending, joined = {}, {}, {}, {}, {}
end

local function endpoints(pinfo)
  local src = tostring(pinfo.src) .. ":" .. tostring(pinfo.src_port)
  local dst = tostring(pinfo.dst) .. ":" .. tostring(pinfo.dst_port)
  local conversation = src < dst and (src .. "|" .. dst) or (dst .. "|" .. src)
  return src, conversation, src .. ">" .. dst
end

-- Reads a protobuf varint at `offset` of `range`; returns the value (a Lua
-- number: exact below 2^53) and the offset after it, or nil.
local function read_varint(range, offset)
  local value, scale = 0, 1
  while offset < range:len() do
    local byte = range(offset, 1):uint()
    value = value + (byte % 128) * scale
    offset = offset + 1
    if byte < 128 then return value, offset end
    scale = scale * 128
  end
  return nil
end

-- Calls visit(field number, wire type, value range, varint value) for each
-- field of the protobuf message in `range`. False if it does not parse.
local function each_field(range, visit)
  if range == nil then return true end  -- an empty payload: all defaults
  local offset = 0
  while offset < range:len() do
    local key, after = read_varint(range, offset)
    if key == nil then return false end
    local number, wire_type = math.floor(key / 8), key % 8
    local start, value = after, nil
    if wire_type == 0 then
      value, offset = read_varint(range, after)
      if value == nil then return false end
    elseif wire_type == 2 then
      local size
      size, start = read_varint(range, after)
      if size == nil or start + size > range:len() then return false end
      offset = start + size
    elseif wire_type == 1 or wire_type == 5 then
      offset = after + (wire_type == 1 and 8 or 4)
      if offset > range:len() then return false end
    else
      return false
    end
    local field = offset > start and range(start, offset - start) or nil
    visit(number, wire_type, field, value)
  end
  return true
end

local function text_of(field)
  return field and field:string(ENC_UTF_8) or ""
end

-- A MetadataEntry under `parent`; returns its key. (An empty key or value
-- is not on the wire, and gets no item of its own.)
local function add_metadata_entry(parent, range)
  local entry = parent:add(f.metadata, range)
  local key, value = "", nil
  each_field(range, function(number, wire_type, field)
    if number == 1 and wire_type == 2 then
      key = text_of(field)
      if field then entry:add(f.md_key, field, key) end
    elseif number == 2 and wire_type == 2 then
      value = field
    end
  end)
  if value and key:sub(-4) == "-bin" then
    entry:add(f.md_value_bin, value)
  elseif value then
    entry:add(f.md_value, value, text_of(value))
  end
  entry:set_text(string.format("%s: %s", key, key:sub(-4) == "-bin"
      and ((value and value:bytes():tohex()) or "")
      or text_of(value)))
  return key
end

-- The payload of HEADERS (CallHeader from the client, ResponseHeader from
-- the server), STATUS, CANCEL and GOAWAY. Returns a summary for the Info
-- column and the method a CallHeader named.
local function dissect_wire_message(kind, payload, pinfo, tree)
  local summary, method = {}, nil
  local ok = each_field(payload, function(number, wire_type, field, value)
    local whole = field or payload(0, 0)  -- payload is not empty here
    if kind == "CallHeader" then
      if number == 1 and wire_type == 2 then
        method = text_of(field)
        tree:add(f.method, whole, method)
        summary[#summary + 1] = method
      elseif number == 2 and wire_type == 0 then
        tree:add(f.timeout, whole, UInt64.new(value % 4294967296,
                                              math.floor(value / 4294967296)))
      elseif number == 3 and wire_type == 2 then
        add_metadata_entry(tree, whole)
      end
    elseif kind == "ResponseHeader" then
      if number == 1 and wire_type == 2 then add_metadata_entry(tree, whole) end
    elseif kind == "CallStatus" or kind == "GoAway" then
      local code_field = kind == "CallStatus" and f.status_code or f.goaway_code
      if number == 1 and wire_type == 0 then
        tree:add(code_field, whole, value)
      elseif number == 2 and wire_type == 2 then
        tree:add(kind == "CallStatus" and f.status_message or f.goaway_message,
                 whole, text_of(field))
      elseif number == 3 and wire_type == 2 and kind == "CallStatus" then
        add_metadata_entry(tree, whole)
      elseif number == 3 and wire_type == 0 and kind == "GoAway" then
        tree:add(f.goaway_last, whole, value)
      end
    elseif kind == "CancelCall" then
      if number == 1 and wire_type == 2 then
        tree:add(f.cancel_reason, whole, text_of(field))
      end
    elseif kind == "Settings" then
      if number == 1 and wire_type == 0 then
        tree:add(f.max_fds, whole, value)
        summary[#summary + 1] = "max_fds_per_message=" .. value
      end
    elseif kind == "FdsHeader" then
      if number == 1 and wire_type == 0 then
        tree:add(f.fds_count, whole, value)
        summary[#summary + 1] = "count=" .. value
      end
    end
  end)
  if not ok then tree:add_proto_expert_info(e_bad_payload, kind) end
  if kind == "CallStatus" or kind == "GoAway" then
    -- A code left at 0 is not on the wire: OK.
    local code = 0
    each_field(payload, function(number, wire_type, _, value)
      if number == 1 and wire_type == 0 then code = value end
    end)
    if code == 0 then
      tree:add(kind == "CallStatus" and f.status_code or f.goaway_code, 0)
          :set_generated()
    end
    summary[#summary + 1] = status_codes[code] or tostring(code)
  end
  return table.concat(summary, " "), method
end

-- Works out (first pass) or recalls (later passes) the method of the
-- stream and the sender's side, for the unit at `key` of the packet (TCP
-- may hand one packet's bytes over in more than one call: the key names
-- the call's bytes and the unit's offset in them).
local function stream_context(pinfo, key, frame_type, stream_id, method)
  local saved = per_packet[pinfo.number]
  if pinfo.visited and saved and saved[key] then return saved[key] end
  local sender, conversation = endpoints(pinfo)
  streams[conversation] = streams[conversation] or {}
  local known = streams[conversation][stream_id]
  local context
  local client = clients[conversation]
  if frame_type == 0x01 and known == nil and
      (client == nil or client == sender) then
    -- A client's HEADERS opens the stream.
    streams[conversation][stream_id] = { method = method, client = sender }
    clients[conversation] = clients[conversation] or sender
    context = { method = method, from_client = true }
  elseif known then
    context = { method = known.method, from_client = known.client == sender }
  else
    context = { method = nil, from_client = client == nil or client == sender }
  end
  saved = saved or {}
  saved[key] = context
  per_packet[pinfo.number] = saved
  return context
end

local wire_kinds = {
  [0x03] = "CallStatus", [0x04] = "CancelCall", [0x07] = "GoAway",
  [0x09] = "Settings", [0x0A] = "FdsHeader",
}

-- The subtree of a wire message, named `kind`.
local function add_payload_tree(item, payload, kind)
  local sub = payload and item:add(f.wire, payload) or item:add(f.wire)
  sub:set_text(payload and kind or (kind .. " (empty: every field default)"))
  return sub
end

-- One frame at `offset` (whole, header and payload, in `tvb`).
local function dissect_frame(tvb, offset, pinfo, tree)
  local length = tvb(offset, 4):uint()
  local stream_id = tvb(offset + 4, 4):uint()
  local frame_type = tvb(offset + 8, 1):uint()
  local flags = tvb(offset + 9, 1):uint()
  local type_name = frame_types[frame_type] or
      string.format("UNKNOWN(0x%02x)", frame_type)
  local item = tree:add(sockrpc, tvb(offset, HEADER_SIZE + length))
  item:add(f.length, tvb(offset, 4))
  item:add(f.stream, tvb(offset + 4, 4))
  item:add(f.type, tvb(offset + 8, 1))
  local flags_item = item:add(f.flags, tvb(offset + 9, 1))
  local flag_names = {}
  if frame_type == 0x01 or frame_type == 0x02 then
    flags_item:add(f.end_stream, tvb(offset + 9, 1))
    if flags % 2 == 1 then flag_names[#flag_names + 1] = "END_STREAM" end
  elseif frame_type == 0x06 then
    flags_item:add(f.ack, tvb(offset + 9, 1))
    if flags % 2 == 1 then flag_names[#flag_names + 1] = "ACK" end
  end
  item:add(f.reserved, tvb(offset + 10, 2))
  -- nil for an empty payload (Wireshark has no empty range at a tvb's end).
  local payload = length > 0 and tvb(offset + HEADER_SIZE, length) or nil
  local detail = ""

  -- A client's HEADERS names the method: read it before the context.
  local method = nil
  if frame_type == 0x01 then
    each_field(payload, function(number, wire_type, field)
      if number == 1 and wire_type == 2 then method = text_of(field) end
    end)
  end
  local context = stream_context(pinfo, tvb:len() .. ":" .. offset,
                                 frame_type, stream_id, method)

  if frame_type == 0x01 then
    local kind = (context.from_client and method ~= nil) and "CallHeader"
        or "ResponseHeader"
    local sub = add_payload_tree(item, payload, kind)
    detail = dissect_wire_message(kind, payload, pinfo, sub)
  elseif wire_kinds[frame_type] then
    local sub = add_payload_tree(item, payload, wire_kinds[frame_type])
    detail = dissect_wire_message(wire_kinds[frame_type], payload, pinfo, sub)
  elseif frame_type == 0x05 and length == 4 then
    item:add(f.window, payload)
    detail = "+" .. payload:uint()
  elseif frame_type == 0x06 then
    item:add(f.ping, payload)
  elseif frame_type == 0x02 then
    local direction = context.from_client and "request" or "response"
    if context.method then
      item:add(f.message_of, context.method .. " " .. direction)
          :set_generated()
      detail = context.method .. " " .. direction
      local shown = false
      if protobuf and payload then
        pinfo.private["pb_msg_type"] = "application/grpc," .. context.method
            .. "," .. direction
        shown = pcall(Dissector.call, protobuf, payload:tvb(), pinfo, item)
        pinfo.private["pb_msg_type"] = nil
      end
      if payload and not shown then item:add(f.payload, payload) end
    else
      item:add_proto_expert_info(e_no_method)
      if payload then item:add(f.payload, payload) end
    end
  elseif length > 0 then
    item:add(f.payload, payload)
  end

  local flag_text = #flag_names > 0 and (" " .. table.concat(flag_names, ","))
      or ""
  local summary = string.format("%s stream=%d%s len=%d", type_name, stream_id,
                                flag_text, length)
  if detail ~= "" then summary = summary .. " " .. detail end
  item:append_text(", " .. summary)
  return summary
end

local function preface_prefix(tvb, offset, available)
  local n = math.min(available, #PREFACE_MAGIC)
  return tvb(offset, n):string() == PREFACE_MAGIC:sub(1, n)
end

-- Dissects the whole units (prefaces and frames) of `tvb` from offset 0.
-- Returns the offset after the last whole unit, and how many more bytes
-- the next unit needs (0 if none is started).
local function dissect_units(tvb, pinfo, tree)
  local offset, summaries = 0, {}
  local total = tvb:len()
  local need = 0
  while offset < total do
    local available = total - offset
    if preface_prefix(tvb, offset, available) then
      if available < 8 then need = 8 - available; break end
      local item = tree:add(sockrpc, tvb(offset, 8))
      local preface = item:add(f.preface, tvb(offset, 8))
      preface:add(f.magic, tvb(offset, 7))
      preface:add(f.version, tvb(offset + 7, 1))
      local version = tvb(offset + 7, 1):uint()
      item:append_text(", PREFACE version " .. version)
      summaries[#summaries + 1] = "PREFACE version " .. version
      local sender, conversation = endpoints(pinfo)
      if not pinfo.visited then
        clients[conversation] = clients[conversation] or sender
      end
      offset = offset + 8
    else
      if available < HEADER_SIZE then need = HEADER_SIZE - available; break end
      local length = tvb(offset, 4):uint()
      if length > sockrpc.prefs.max_payload or tvb(offset + 10, 2):uint() ~= 0
          or tvb(offset + 8, 1):uint() == 0 then
        local item = tree:add(sockrpc, tvb(offset, available))
        item:add_proto_expert_info(e_bad_header)
        item:append_text(", malformed frame header: the rest is not framed")
        summaries[#summaries + 1] = "MALFORMED"
        offset = total
        break
      end
      if available < HEADER_SIZE + length then
        need = HEADER_SIZE + length - available
        break
      end
      summaries[#summaries + 1] = dissect_frame(tvb, offset, pinfo, tree)
      offset = offset + HEADER_SIZE + length
    end
  end
  if #summaries > 0 then
    pinfo.cols.protocol:set("sockrpc")
    pinfo.cols.info:set(table.concat(summaries, "; "))
  end
  return offset, need
end

-- Dissects the units of a packet that came through TCP (`over_tcp`: TCP
-- reassembles) or as an exported PDU (joined here).
local function dissect(tvb, pinfo, tree, over_tcp)
  pinfo.cols.protocol:set("sockrpc")
  if tvb:len() == 0 then
    -- In a tap capture: the handshake, FIN or RST of a connection.
    pinfo.cols.info:set("(no payload: a connection opens or closes)")
    return 0
  end
  if over_tcp then
    -- Over TCP: TCP reassembles what a unit needs.
    local done, need = dissect_units(tvb, pinfo, tree)
    if need > 0 then
      pinfo.desegment_offset = done
      pinfo.desegment_len = need
    end
    return tvb:len()
  end
  -- Exported PDUs: join this packet to the bytes left from the flow's
  -- earlier packets, on the first pass; later passes reuse what was kept.
  local _, _, flow = endpoints(pinfo)
  local bytes_tvb = tvb
  if not pinfo.visited and pending[flow] then
    joined[pinfo.number] = pending[flow] .. tvb:bytes()
  end
  if joined[pinfo.number] == false then
    -- The middle of a frame: its whole shows in the packet that ends it.
    pinfo.cols.info:set(PART_OF_A_FRAME)
    return tvb:len()
  end
  if joined[pinfo.number] then
    bytes_tvb = joined[pinfo.number]:tvb("sockrpc: joined packets")
  end
  local done, need = dissect_units(bytes_tvb, pinfo, tree)
  if not pinfo.visited then
    if done < bytes_tvb:len() then
      pending[flow] = bytes_tvb(done):bytes()
    else
      pending[flow] = nil
    end
    -- Keep the joined bytes only where whole units came out of them.
    if done == 0 and joined[pinfo.number] then joined[pinfo.number] = false end
  end
  if done == 0 then
    pinfo.cols.info:set(PART_OF_A_FRAME)
  elseif done < bytes_tvb:len() then
    pinfo.cols.info:append(" (a frame continues)")
  end
  return tvb:len()
end

-- Called by TCP (a port, Decode As, the conversation the heuristic set) or
-- by the exported-PDU dissector (a tap capture), which does not offer
-- reassembly.
function sockrpc.dissector(tvb, pinfo, tree)
  return dissect(tvb, pinfo, tree, pinfo.can_desegment > 0)
end

-- Any TCP connection that starts with the preface is sockrpc. (TCP offers
-- reassembly to heuristics too, though can_desegment reads 0 here.)
local function heuristic(tvb, pinfo, tree)
  if tvb:len() < 8 or tvb(0, 7):string() ~= PREFACE_MAGIC then return false end
  pinfo.conversation = sockrpc
  dissect(tvb, pinfo, tree, true)
  return true
end
sockrpc:register_heuristic("tcp", heuristic)

local tcp_ports = DissectorTable.get("tcp.port")
tcp_ports:add_for_decode_as(sockrpc)
local registered_port = 0
function sockrpc.prefs_changed()
  if registered_port ~= 0 then tcp_ports:remove(registered_port, sockrpc) end
  registered_port = sockrpc.prefs.tcp_port
  if registered_port ~= 0 then tcp_ports:add(registered_port, sockrpc) end
end
