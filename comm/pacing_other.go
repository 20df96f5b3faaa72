//go:build !linux

package comm

func setMaxPacing(fd int, rate uint32) error { return nil }

func restartCongestion(fd int) error { return nil }

func setTrafficClass(fd int, v6 bool, tc int) error { return nil }
