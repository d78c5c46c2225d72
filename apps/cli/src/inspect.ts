// `mixedmap inspect FILE --at STEP`: the machine state after a step, in the kernel's formats:
// /proc/PID/maps, smaps-style accounting, a pagemap-style per-page view, and struct pages.

import { PAGE_SIZE, VM_LOCKED, vmFlagNames, type PageInfo } from '@mixedmap/core';
import type { RunState } from '@mixedmap/scenario';

const hex = (n: number): string => `0x${n.toString(16)}`;
const kb = (pages: number): string => `${String((pages * PAGE_SIZE) / 1024).padStart(8)} kB`;

export interface PagemapEntry {
  addr: number;
  present: boolean;
  none: boolean;
  pfn: number | null;
  write: boolean;
  dirty: boolean;
  young: boolean;
  special: boolean;
  /** vm_normal_page found a struct page */
  normal: boolean;
  /** page_mapcount() == 1 (pagemap's PM_MMAP_EXCLUSIVE) */
  exclusive: boolean;
}

export interface VmaView {
  maps: string;
  flags: string[];
  smaps: Record<string, number>;
  pages: PagemapEntry[];
}

export interface TaskView {
  name: string;
  pid: number;
  alive: boolean;
  exitReason: string | null;
  rss: { anon: number; file: number };
  vmas: VmaView[];
}

export interface InspectView {
  tasks: TaskView[];
  pages: Array<PageInfo & { mappedBy: string[] }>;
}

/** At most this many pages per vma are listed one by one (big mappings would flood the terminal). */
const MAX_PAGES_PER_VMA = 4096;

export function inspectState(st: RunState): InspectView {
  const m = st.machine;
  const pages = new Map<number, PageInfo & { mappedBy: string[] }>();
  const tasks: TaskView[] = [];
  for (const [name, task] of st.tasks) {
    const view: TaskView = { name, pid: task.pid, alive: task.alive && !!task.mm, exitReason: task.exitReason, rss: m.rss(task), vmas: [] };
    // a task that died in an Oops keeps its mm: show it (post mortem)
    tasks.push(view);
    if (!task.mm) continue;
    const maps = m.procMaps(task);
    task.mm.vmas.forEach((v, i) => {
      const sm = { Size: 0, Rss: 0, Pss: 0, Shared_Clean: 0, Shared_Dirty: 0, Private_Clean: 0, Private_Dirty: 0, Referenced: 0, Anonymous: 0, Locked: 0, RawPfn: 0 };
      const list: PagemapEntry[] = [];
      const n = (v.end - v.start) / PAGE_SIZE;
      sm.Size = n;
      for (let a = v.start; a < v.end; a += PAGE_SIZE) {
        const p = m.readPte(task, a);
        const np = p.present ? m.vmNormalPage(task, a) : -1;
        const info = np >= 0 ? m.pageInfo(np) : null;
        if (p.present && np < 0) sm.RawPfn++;
        if (info) {
          // smaps counts only ptes with a struct page (vm_normal_page), like smaps_pte_range
          sm.Rss++;
          sm.Pss += 1 / Math.max(1, info.mapcount);
          const shared = info.mapcount >= 2;
          if (shared) p.dirty ? sm.Shared_Dirty++ : sm.Shared_Clean++;
          else p.dirty ? sm.Private_Dirty++ : sm.Private_Clean++;
          if (p.young) sm.Referenced++;
          if (info.anon) sm.Anonymous++;
          if (v.flags & VM_LOCKED) sm.Locked++;
          const e = pages.get(np) ?? { ...info, mappedBy: [] };
          e.mappedBy.push(`${name}:${hex(a)}`);
          pages.set(np, e);
        } else if (p.present) {
          const pi = m.pageInfo(p.pfn);
          if (pi && !pages.has(p.pfn)) pages.set(p.pfn, { ...pi, mappedBy: [] });
          if (pi) pages.get(p.pfn)!.mappedBy.push(`${name}:${hex(a)} (raw)`);
        }
        if (list.length < MAX_PAGES_PER_VMA && !p.none) {
          list.push({
            addr: a, present: p.present, none: p.none, pfn: p.present ? p.pfn : null, write: p.write, dirty: p.dirty, young: p.young,
            special: p.special, normal: np >= 0, exclusive: info ? info.mapcount === 1 : false,
          });
        }
      }
      view.vmas.push({ maps: maps[i] ?? '', flags: vmFlagNames(v.flags), smaps: sm, pages: list });
    });
  }
  return { tasks, pages: [...pages.values()].sort((a, b) => a.pfn - b.pfn) };
}

export function renderInspect(view: InspectView, title: string, zeroPfn: number): string[] {
  const out = [title];
  for (const t of view.tasks) {
    out.push('', `== task ${t.name} (pid ${t.pid})${t.alive ? '' : ` — dead: ${t.exitReason ?? 'exited'}`} rss anon ${t.rss.anon} file ${t.rss.file}`);
    if (t.vmas.length === 0 && !t.alive) continue;
    out.push(`-- /proc/${t.pid}/maps`);
    for (const v of t.vmas) out.push(v.maps);
    out.push(`-- /proc/${t.pid}/smaps`);
    for (const v of t.vmas) {
      out.push(v.maps);
      for (const [k, n] of Object.entries(v.smaps)) {
        if (k === 'RawPfn') continue;
        out.push(`${(k + ':').padEnd(16)}${kb(k === 'Pss' ? Math.round(n * 100) / 100 : n)}`);
      }
      out.push(`${'RawPfn:'.padEnd(16)}${kb(v.smaps.RawPfn!)}   (present ptes without struct page accounting: special/pfnmap/zero)`);
      out.push(`${'VmFlags:'.padEnd(16)}${v.flags.join(' ')}`);
    }
    out.push(`-- pagemap (present, pfn, special, normal = vm_normal_page, exclusive = page_mapcount 1)`);
    for (const v of t.vmas) {
      for (const p of v.pages) {
        if (!p.present) {
          out.push(`${hex(p.addr).padStart(14)}  not present (swap/file pte)`);
          continue;
        }
        const tags = [p.write ? 'rw' : 'ro', p.dirty ? 'dirty' : 'clean', p.young ? 'young' : 'old'];
        out.push(`${hex(p.addr).padStart(14)}  present pfn ${hex(p.pfn!)}${p.pfn === zeroPfn ? ' (zero)' : ''} special=${p.special ? 1 : 0} normal=${p.normal ? 1 : 0} exclusive=${p.exclusive ? 1 : 0} ${tags.join(' ')}`);
      }
    }
  }
  out.push('', '== struct page of each mapped pfn');
  if (view.pages.length === 0) out.push('(none)');
  for (const p of view.pages) {
    out.push(`pfn ${hex(p.pfn)}: _count ${p.count} page_mapcount ${p.mapcount} flags [${p.flags.join(',')}]${p.zero ? ' ZERO_PAGE' : ''} mapped by ${p.mappedBy.join(', ') || '—'}`);
  }
  return out;
}
