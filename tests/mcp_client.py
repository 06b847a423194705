"""A real MCP client (the Python `mcp` SDK from PyPI) driving `patina mcp` over stdio.

Usage: python3 mcp_client.py PLAN.json  -> prints one JSON object on stdout.

PLAN = {"command": "/path/patina", "args": ["mcp"], "cwd": "...", "env": {...},
        "calls": [{"name": "scry", "arguments": {...}}, ...]}

The answer records what the client saw: the server's identity and protocol version from
initialize, every tool from tools/list (name, description, input schema), and per call either
{"is_error", "text"} (a tool result) or {"protocol_error": "..."} (a JSON-RPC error).
"""

import asyncio
import json
import sys

from mcp import ClientSession, MCPError
from mcp.client.stdio import StdioServerParameters, stdio_client


async def run(plan):
    params = StdioServerParameters(
        command=plan["command"], args=plan["args"], cwd=plan["cwd"], env=plan["env"]
    )
    out = {"calls": []}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            out["server"] = {"name": init.server_info.name, "version": init.server_info.version}
            out["protocol_version"] = str(init.protocol_version)
            out["instructions"] = init.instructions
            listed = await session.list_tools()
            out["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in listed.tools
            ]
            for call in plan["calls"]:
                try:
                    r = await session.call_tool(call["name"], call.get("arguments") or {})
                    text = "".join(getattr(c, "text", "") for c in r.content)
                    out["calls"].append({"name": call["name"], "is_error": bool(r.is_error), "text": text})
                except MCPError as e:
                    out["calls"].append({"name": call["name"], "protocol_error": str(e)})
    return out


def main():
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    print(json.dumps(asyncio.run(run(plan))))


if __name__ == "__main__":
    main()
