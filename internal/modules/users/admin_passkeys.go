package users

import (
	"context"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
)

func (s adminService) Passkeys(ctx context.Context, userID string) ([]contracts.Passkey, error) {
	keys, err := s.m.accounts.ListPasskeys(ctx, userID)
	return keys, adminErr("list passkeys", err)
}

func (s adminService) DeletePasskey(ctx context.Context, actorID, userID, passkeyID, clientIP string) error {
	return adminErr("delete passkey", s.m.accounts.DeletePasskey(ctx, actorID, userID, passkeyID, "", account.Client{IP: clientIP}))
}
