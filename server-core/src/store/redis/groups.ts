/**
 * Redis store: group chains (compare-and-set appends in Lua) and membership.
 */
import type { DirectoryEntry, GroupInfo, GroupMember } from '../types.ts';
import type { GroupPart } from '../parts.ts';
import { b64, script, unb64, type RedisContext } from './support.ts';

// KEYS: group hash, records list, members hash. ARGV: expected previous seq ('' = create), new seq,
// record, group id, the per-user group set's key prefix, then name/admin pairs. The per-user sets
// (`usergroups:{user}`, read by sharesGroup) are keyed by name inside the script: this store runs
// on one Redis, not a Redis Cluster.
const PUT_GROUP = script(`
local cur = redis.call('HGET', KEYS[1], 'seq')
if ARGV[1] == '' then
  if cur then return 0 end
elseif cur ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'seq', ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
for _, u in ipairs(redis.call('HKEYS', KEYS[3])) do redis.call('SREM', ARGV[5] .. u, ARGV[4]) end
redis.call('DEL', KEYS[3])
for i = 6, #ARGV, 2 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  redis.call('SADD', ARGV[5] .. ARGV[i], ARGV[4])
end
return 1`);

function infoOf(h: Record<string, string>): GroupInfo | null {
  if (h.name === undefined) return null;
  return {
    name: h.name,
    topic: h.topic ?? '',
    join: h.join === 'open' || h.join === 'invite' ? h.join : 'admins-add',
    announce: h.announce === '1',
    listed: h.listed === '1',
  };
}

/** Group chains and membership of the Redis store. */
export function redisGroups({ client, k, run }: RedisContext): GroupPart {
  async function putGroup(
    groupId: string,
    prev: string,
    seq: number,
    record: Uint8Array,
    members: GroupMember[],
  ): Promise<boolean> {
    const args = [prev, String(seq), b64(record), groupId, k.userGroups('')];
    for (const m of members) args.push(m.username, m.admin ? '1' : '0');
    const r = await run(
      PUT_GROUP,
      [k.group(groupId), k.groupRecords(groupId), k.groupMembers(groupId)],
      args,
    );
    return r === 1;
  }

  return {
    async createGroup(groupId, record, members) {
      return putGroup(groupId, '', 0, record, members);
    },
    async appendGroupRecord(groupId, seq, record, members) {
      return putGroup(groupId, String(seq - 1), seq, record, members);
    },
    async getGroupChain(groupId) {
      if (!(await client.exists(k.group(groupId)))) return null;
      const rows = await client.lRange(k.groupRecords(groupId), 0, -1);
      return rows.map((r) => unb64(r) ?? new Uint8Array());
    },
    async getGroup(groupId) {
      const [seq, members] = await Promise.all([
        client.hGet(k.group(groupId), 'seq'),
        client.hGetAll(k.groupMembers(groupId)),
      ]);
      if (seq === null || seq === undefined) return null;
      return {
        groupId,
        seq: Number(seq),
        members: Object.keys(members)
          .sort()
          .map((username) => ({ username, admin: members[username] === '1' })),
      };
    },
    async groupMembers(groupId) {
      const [exists, names, closed] = await Promise.all([
        client.exists(k.group(groupId)),
        client.hKeys(k.groupMembers(groupId)),
        client.sIsMember(k.closedGroups, groupId),
      ]);
      if (!exists) return null;
      // A room closed by an operator: nobody may use its topic .
      return closed === 1 ? [] : names.sort();
    },
    async isGroupMember(groupId, username) {
      return (await client.hExists(k.groupMembers(groupId), username)) === 1;
    },
    async sharesGroup(a, b) {
      // `a`'s set is complete for every group changed since it was introduced (issue 17), which
      // is every group a guest ever joined; membership itself is read from the group.
      for (const groupId of await client.sMembers(k.userGroups(a))) {
        const [member, closed] = await Promise.all([
          client.hExists(k.groupMembers(groupId), b),
          client.sIsMember(k.closedGroups, groupId),
        ]);
        if (member === 1 && closed !== 1) return true;
      }
      return false;
    },
    async setGroupInfo(groupId, info) {
      await client.hSet(k.groupInfo(groupId), {
        name: info.name,
        topic: info.topic,
        join: info.join,
        announce: info.announce ? '1' : '0',
        listed: info.listed ? '1' : '0',
      });
      // The directory set holds exactly the rooms it may show.
      if (info.listed && info.join === 'open') await client.sAdd(k.directory, groupId);
      else await client.sRem(k.directory, groupId);
    },
    async getGroupInfo(groupId) {
      return infoOf(await client.hGetAll(k.groupInfo(groupId)));
    },
    async listDirectory(query, limit) {
      const q = query.toLowerCase();
      const ids = await client.sMembers(k.directory);
      const rows = await Promise.all(
        ids.map(async (groupId): Promise<DirectoryEntry | null> => {
          const [info, n] = await Promise.all([
            client.hGetAll(k.groupInfo(groupId)),
            client.hLen(k.groupMembers(groupId)),
          ]);
          const i = infoOf(info);
          if (!i || !i.listed || i.join !== 'open') return null;
          if (q && !i.name.toLowerCase().includes(q) && !i.topic.toLowerCase().includes(q)) {
            return null;
          }
          return { groupId, name: i.name, topic: i.topic, memberCount: n };
        }),
      );
      return rows
        .filter((r): r is DirectoryEntry => r !== null)
        .sort(
          (a, b) =>
            b.memberCount - a.memberCount ||
            (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
            (a.groupId < b.groupId ? -1 : 1),
        )
        .slice(0, limit);
    },
    async groupPosters(groupId) {
      const [exists, members, announce, closed] = await Promise.all([
        client.exists(k.group(groupId)),
        client.hGetAll(k.groupMembers(groupId)),
        client.hGet(k.groupInfo(groupId), 'announce'),
        client.sIsMember(k.closedGroups, groupId),
      ]);
      if (!exists) return null;
      // A room closed by an operator: nobody may post (as nobody may use its topic).
      if (closed === 1) return [];
      return Object.keys(members)
        .filter((u) => announce !== '1' || members[u] === '1')
        .sort();
    },
  };
}
