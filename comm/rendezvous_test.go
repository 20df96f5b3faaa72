package comm

import "testing"

func TestFirstSlurmHost(t *testing.T) {
	for in, want := range map[string]string{
		"vm": "vm", "node[07-09,12],gpu1": "node07", "a,b": "a", "gpu[3]": "gpu3", "x[1-2]y": "x1", "": "", "bad[1-2": "",
	} {
		if got := firstSlurmHost(in); got != want {
			t.Errorf("firstSlurmHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestForeignVars(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, c := range []struct {
		name string
		get  func(string) string
		want string // rendezvous, or "" with no launcher
	}{
		{"none", env(), ""},
		{"slurm one node", env("SLURM_PROCID", "1", "SLURM_NTASKS", "3", "SLURM_STEP_NUM_NODES", "1", "SLURM_STEP_NODELIST", "vm"), "127.0.0.1:29517"},
		{"slurm nodes", env("SLURM_PROCID", "1", "SLURM_NTASKS", "4", "SLURM_STEP_NUM_NODES", "2", "SLURM_STEP_NODELIST", "n[3-4]"), "n3:29517"},
		{"torchrun", env("RANK", "0", "WORLD_SIZE", "2", "MASTER_ADDR", "10.0.0.5"), "10.0.0.5:29517"},
		{"ompi one host", env("OMPI_COMM_WORLD_RANK", "0", "OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "2"), "127.0.0.1:29517"},
		{"explicit wins", env("PMI_RANK", "0", "PMI_SIZE", "2", "SPMD_RENDEZVOUS", "h:1", "MASTER_ADDR", "x"), "h:1"},
	} {
		j, ok, err := foreignVars(c.get)
		if err != nil || ok != (c.want != "") || j.rendezvous != c.want {
			t.Errorf("%s: %+v %v %v, want rendezvous %q", c.name, j, ok, err, c.want)
		}
	}
}
