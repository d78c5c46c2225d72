// `mixedmap inspect FILE --at STEP`: the machine state after a step, in the kernel's formats:
// /proc/PID/maps, smaps-style accounting, a pagemap-style per-page view, and struct pages.

import { PAGE_SIZE, renderSmaps, vmFlagNames, type PageInfo } from '@mixedmap/core';
import type { RunState } from '@mixedmap/scenario';

const hex = (n: number): string => `0x${n.toString(16)}`;

export interface PagemapEntry {
  addr: number;
  /** the u64 /proc/PID/pagemap returns for this page (16 hex digits); null before 2.6.25 (no pagemap) */
  entry: string | null;
  // model annotations (not pagemap bits)
  present: boolean;
  none: boolean;
  pfn: number | null;
  write: boolean;
  dirty: boolean;
  young: boolean;
  special: boolean;
  /** vm_normal_page found a struct page */
  normal: boolean;
  /** page_mapcount() == 1 (modern pagemap's PM_MMAP_EXCLUSIVE; no 2.6 counterpart) */
  exclusive: boolean;
}

export interface VmaView {
  maps: string;
  flags: string[];
  /** the kernel's smaps fields for the release, in kB (Machine.smaps) */
  smaps: Record<string, number>;
  /** 6.x: the smaps VmFlags mnemonics; null for 2.6 (no VmFlags line) */
  vmFlags: string[] | null;
  /** model annotations, not smaps fields */
  model: { rawPfnKb: number };
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
  /** the release (Features.release) the views follow */
  release: number;
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
    // the kernel-format views come from the core (Machine.smaps / pagemap); here only the listing
    const sm = m.smaps(task);
    task.mm.vmas.forEach((v, i) => {
      const list: PagemapEntry[] = [];
      for (let a = v.start; a < v.end; a += PAGE_SIZE) {
        const p = m.readPte(task, a);
        const np = p.present ? m.vmNormalPage(task, a) : -1;
        const info = np >= 0 ? m.pageInfo(np) : null;
        if (info) {
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
            addr: a, entry: m.pagemap(task, a), present: p.present, none: p.none, pfn: p.present ? p.pfn : null, write: p.write,
            dirty: p.dirty, young: p.young, special: p.special, normal: np >= 0, exclusive: info ? info.mapcount === 1 : false,
          });
        }
      }
      const s = sm[i]!;
      view.vmas.push({ maps: s.maps, flags: vmFlagNames(v.flags), smaps: s.fields, vmFlags: s.vmFlags, model: s.model, pages: list });
    });
  }
  return { release: m.f.release, tasks, pages: [...pages.values()].sort((a, b) => a.pfn - b.pfn) };
}

export function renderInspect(view: InspectView, title: string, zeroPfn: number): string[] {
  const out = [title];
  for (const t of view.tasks) {
    out.push('', `== task ${t.name} (pid ${t.pid})${t.alive ? '' : ` — dead: ${t.exitReason ?? 'exited'}`} rss anon ${t.rss.anon} file ${t.rss.file}`);
    if (t.vmas.length === 0 && !t.alive) continue;
    out.push(`-- /proc/${t.pid}/maps`);
    for (const v of t.vmas) out.push(v.maps);
    out.push(`-- /proc/${t.pid}/smaps`);
    for (const v of t.vmas) for (const l of renderSmaps(view.release, { maps: v.maps, start: 0, end: 0, fields: v.smaps, vmFlags: v.vmFlags, model: v.model })) out.push(l);
    // model facts that are no kernel field, kept apart from the kernel-format lines
    out.push('-- model annotations per vma (not /proc output): present ptes without vm_normal_page (special/pfnmap/zero pfn), vm_flags');
    for (const v of t.vmas) out.push(`${v.maps.slice(0, v.maps.indexOf(' '))}  raw ${v.model.rawPfnKb} kB  ${v.flags.join(' ') || '-'}`);
    const pm = view.release >= 25;
    out.push(`-- /proc/${t.pid}/pagemap${pm ? '' : ' (not in this release: /proc/PID/pagemap appears in 2.6.25)'}; after "#": model annotations, not pagemap bits`);
    for (const v of t.vmas) {
      for (const p of v.pages) {
        const entry = p.entry ?? '-'.repeat(16);
        if (!p.present) {
          out.push(`${hex(p.addr).padStart(14)}  ${entry}  # not present (swap/file pte)`);
          continue;
        }
        const tags = [p.write ? 'rw' : 'ro', p.dirty ? 'dirty' : 'clean', p.young ? 'young' : 'old'];
        out.push(`${hex(p.addr).padStart(14)}  ${entry}  # present pfn ${hex(p.pfn!)}${p.pfn === zeroPfn ? ' (zero)' : ''} special=${p.special ? 1 : 0} normal=${p.normal ? 1 : 0} exclusive=${p.exclusive ? 1 : 0} ${tags.join(' ')}`);
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
